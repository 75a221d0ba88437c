"""The `VAE`: a diagonal Gaussian posterior, a prior, beta, free bits, the ELBO or IWAE bound."""

import keras
import numpy as np
from keras import ops

from vae_tf.models.base import LatentVariableModel
from vae_tf.models.flows import has_context
from vae_tf.models.flows import make_flow
from vae_tf.models.objective import LossTerm
from vae_tf.models.pixelcnn import draw_pixels
from vae_tf.models.posteriors import DiagonalGaussian
from vae_tf.models.posteriors import FlowPosterior
from vae_tf.models.priors import VampPrior
from vae_tf.utils.checks import Integer
from vae_tf.utils.checks import Number
from vae_tf.utils.checks import OneOf

# The checks of the settings, shared with `vae_tf.TrainConfig`.
BETA = Number(low=0.0)
FREE_BITS = Number(low=0.0)
Z_LOG_VAR_CLIP = Number(low=0.0, low_open=True, optional=True, note="None: off")
OBJECTIVES = ("elbo", "iwae")
OBJECTIVE = OneOf(OBJECTIVES)
NUM_SAMPLES = Integer(minimum=1)
FLOW_STEPS_SETTING = Integer(minimum=1, optional=True)
# The settings of the KL weight's schedules (TrainConfig's), which variants
# with a KL term take.
KL_SCHEDULES = ("kl_warmup_epochs", "kl_warmup_steps", "kl_cycles", "kl_cycle_ratio")


VAMP_WITH_FLOW = (
    "prior 'vamp' does not take a flow posterior: its components would be the flow's densities "
    "at the pseudo-inputs, which need the flow's inverse (latent_dim passes of an IAF step per "
    "code and component). Use prior 'normal' or 'mog' with a flow, or the Gaussian posterior "
    "with the VampPrior."
)


def check_free_bits(free_bits, objective, prior, stochastic_layers=1, flow=None):
    """Free bits need a per-dimension KL: refused with the IWAE bound, a mixture prior, two
    layers, a flow.

    `prior` is a `vae_tf.models.Prior` or a name of `PRIORS`; `flow` a flow's
    name or a `Flow`, or None.
    """
    closed_form = prior == "normal" or getattr(prior, "closed_form_kl", False)
    unsplit = stochastic_layers > 1 or flow is not None
    if free_bits and (objective == "iwae" or not closed_form or unsplit):
        name = prior if isinstance(prior, str) else getattr(prior, "notation", prior)
        if objective == "iwae":
            cause = "objective='iwae' optimizes a bound with no separate KL term"
        elif stochastic_layers > 1:
            cause = "two stochastic layers have no per-dimension KL (no closed form)"
        elif flow is not None:
            cause = "a flow posterior has no per-dimension KL (no closed form)"
        else:
            cause = f"prior={name!r} has no per-dimension KL (no closed form)"
        raise ValueError(
            f"free_bits={free_bits} floors the KL of each latent dimension, but {cause}; "
            "set free_bits=0."
        )
    return free_bits


@keras.saving.register_keras_serializable(package="vae_tf")
class VAE(LatentVariableModel):
    """A Variational Autoencoder (Kingma & Welling, 2014).

    The encoder maps images to the mean and log-variance of a diagonal
    Gaussian `q(z|x)`; a `Sampler` draws `z` with the reparameterization
    trick; the decoder maps `z` to `p(x|z)`, a per-pixel Bernoulli by default.
    Training minimizes, per example and averaged over the batch (in nats),
    `reconstruction + kl_weight * KL`, where reconstruction is `-log p(x|z)`
    summed over pixels and KL is `KL(q(z|x) || p(z))` summed over latent
    dimensions, against the prior `model.prior` (N(0, I)). `kl_weight` is a
    variable, equal to `beta` unless a callback of `vae_tf.callbacks` (KL
    warm-up, cyclical annealing) drives it; the compiled step reads it, so
    changing it never retraces.

    Metrics: `total_loss` is reconstruction + KL (the negative ELBO, comparable
    across values of beta), `reconstruction_loss`, `kl_loss`, `kl_weight` (the
    weight used, averaged over the epoch's steps) and `loss`, the optimized
    objective (equal to `total_loss` at weight 1 without free bits).

    Args:
        encoder: A model `images -> [z_mean, z_log_var]`. A third output
            named "context" is the context of a `flow`; any other third
            output is ignored (a sample of z, as in the keras.io example):
            the VAE draws z with its own seeded `Sampler`.
        decoder: A model `z -> images`, giving Bernoulli logits or, when its
            last layer ends in a sigmoid, probabilities.
        beta: Weight of the KL term (beta-VAE; 1 is the true ELBO), the
            target of KL schedules.
        likelihood: `p(x|z)`: `"bernoulli"` (pixels in [0, 1], stable from
            logits), `"gaussian"` with a fixed `sigma`, `"gaussian_learned"`
            with one learned sigma shared by all pixels (started at `sigma`),
            or `"mse"`, the sum of squared errors: a labelled
            non-probabilistic variant whose losses are not nats. Gaussian
            densities include their constant, so they are true log-densities.
            For all but Bernoulli, the decoder's logits pass through a sigmoid
            to give means in [0, 1].
        sigma: Standard deviation of the Gaussian likelihoods (> 0).
        free_bits: KL floor in nats per latent dimension (Kingma et al.,
            2016): the objective uses `sum_j max(free_bits, mean_batch KL_j)`,
            so that the encoder is not pushed to collapse dimensions below
            it. 0 turns it off. Reported `kl_loss` is always the true KL.
        z_log_var_clip: Clips `z_log_var` to `[-clip, clip]` (stability of
            early training with large learning rates); None (default) is off.
        decoder_output: `"logits"`, `"probabilities"` (the decoder gives the
            probabilities or means themselves), or `"auto"` (logits unless
            the decoder's last layer has a sigmoid activation). Logits give an
            exact, stable likelihood.
        seed: Optional integer seed of the `Sampler`.
        objective: `"elbo"` (the default) or `"iwae"`, the importance-weighted
            bound of Burda et al. (2015) with `num_samples` codes per image,
            `log (1/K) sum_k p(x|z_k) p(z_k)^b / q(z_k|x)^b` with b the
            `kl_weight` (b = 1, the bound itself, unless beta or a KL schedule
            say otherwise); `loss` reports its negative, `total_loss` the ELBO.
        num_samples: K, codes drawn per image at each step (all decoded in
            one call). With `"elbo"` and K > 1, the objective is the mean of K
            single-sample ELBOs.
        prior: `p(z)`: `"normal"` (N(0, I), the default), `"mog"` (a mixture
            of `prior_components` learned diagonal Gaussians), `"vamp"` (the
            VampPrior of Tomczak & Welling (2018): the mixture of the
            encoder's posteriors at `prior_components` learned pseudo-inputs;
            unconditional models only), or a `vae_tf.models.Prior`. Priors
            without a closed-form KL report `kl_loss` as the Monte Carlo
            estimate `log q(z|x) - log p(z)` of the drawn codes, and do not
            combine with free bits.
        prior_components: K of the mixture priors (500 by default).
        flow: A normalizing flow on the posterior (`vae_tf.models.flows`):
            `"planar"` (Rezende & Mohamed, 2015), `"iaf"` (inverse
            autoregressive, Kingma et al., 2016), or a `Flow`; None (the
            default) keeps the diagonal Gaussian. The encoder then has a
            third output, the context vector the flow's steps are
            conditioned on (`build_encoder(..., context_dim=...)`); the KL
            is the Monte Carlo estimate `log q(z|x) - log p(z)`, and
            `encode` shows the flow's image of the Gaussian's mean. Not
            with the VampPrior (its components would be flow densities at
            the pseudo-inputs, which need the flow's inverse) nor free bits.
        flow_steps: K, the steps of a flow given by name (4 by default).
        pixelcnn: An autoregressive decoder head (`vae_tf.models.pixelcnn.
            build_pixelcnn`): `p(x|z) = prod_i p(x_i | x_<i, z)`, gated
            masked convolutions over the image's pixels before i and the
            decoder's logits (PixelVAE, Gulrajani et al., 2017). The
            likelihood is then Bernoulli from logits, of one channel;
            `decode`, `sample`, `reconstruct` and the SavedModel draw the
            pixels one by one (seeded), and `call` gives each pixel's
            probability given the input's pixels before it. None (the
            default): independent pixels given z.
        num_classes: Makes the VAE conditional (Sohn et al., 2015): the
            networks take a one-hot label besides their input (see
            `build_encoder_decoder(..., num_classes=...)`), data come as
            `(images, labels)` with integer labels, and `encode`, `decode`,
            `sample` and `reconstruct` take `labels`. The same training step
            serves both kinds.

    Example:

    ```python
    encoder, decoder = vae_tf.build_encoder_decoder("conv", latent_dim=2)
    vae = VAE(encoder, decoder)
    vae.compile(optimizer="adam")
    vae.fit(x_train, epochs=30, batch_size=128, validation_data=(x_test,))
    images = vae.decode([[0.0, 0.0]])          # probabilities in [0, 1]

    # Conditional: the digit comes from the label, the style from z.
    cvae = VAE(*vae_tf.build_encoder_decoder("conv", 2, num_classes=10), num_classes=10)
    cvae.compile(optimizer="adam")
    cvae.fit(x_train, y_train, epochs=30, batch_size=128)
    sevens = cvae.sample(16, labels=7)

    # Gaussian likelihood with a learned sigma, free bits and KL warm-up.
    vae = VAE(encoder, decoder, likelihood="gaussian_learned", free_bits=0.1)
    vae.compile(optimizer="adam")
    vae.fit(x_train, epochs=30, callbacks=[vae_tf.callbacks.KLWarmup(10)])

    # The IWAE bound with 5 codes per image, under a VampPrior.
    vae = VAE(encoder, decoder, objective="iwae", num_samples=5, prior="vamp")

    # An inverse autoregressive flow of 4 steps on the posterior.
    networks = vae_tf.build_encoder_decoder("gated", 50, context_dim=100)
    vae = VAE(*networks, flow="iaf", flow_steps=4)

    # An autoregressive decoder: three gated masked convolutions on the decoder's logits.
    vae = VAE(encoder, decoder, pixelcnn=build_pixelcnn((28, 28, 1), layers_count=3))
    ```
    """

    #: Why a variant's objective cannot take a flow posterior (None: it can).
    flow_refusal = None

    def __init__(
        self,
        encoder,
        decoder,
        beta=1.0,
        likelihood="bernoulli",
        sigma=0.1,
        free_bits=0.0,
        z_log_var_clip=None,
        decoder_output="auto",
        seed=None,
        num_classes=None,
        objective="elbo",
        num_samples=1,
        prior="normal",
        prior_components=500,
        flow=None,
        flow_steps=None,
        pixelcnn=None,
        **kwargs,
    ):
        # Before the base builds the model (and the prior, which may ask the
        # posterior, that is, the clip and the flow).
        self.z_log_var_clip = Z_LOG_VAR_CLIP("z_log_var_clip", z_log_var_clip)
        self.objective = OBJECTIVE("objective", objective)
        self.num_samples = NUM_SAMPLES("num_samples", num_samples)
        if flow is not None and self.flow_refusal:
            raise ValueError(f"{type(self).__name__} takes no flow: {self.flow_refusal}.")
        self.flow = self._make_flow(encoder, flow, flow_steps)
        self.pixelcnn = pixelcnn
        super().__init__(
            encoder,
            decoder,
            likelihood=likelihood,
            sigma=sigma,
            decoder_output=decoder_output,
            seed=seed,
            num_classes=num_classes,
            prior=prior,
            prior_components=prior_components,
            **kwargs,
        )
        if self.flow is not None and isinstance(self.prior, VampPrior):
            raise ValueError(VAMP_WITH_FLOW)
        if pixelcnn is not None:
            self._check_pixelcnn(pixelcnn)
        self.free_bits = FREE_BITS("free_bits", free_bits)
        check_free_bits(self.free_bits, objective, prior, self.stochastic_layers, self.flow)
        self.beta = beta

    def _check_pixelcnn(self, head):
        shapes = [tuple(tensor.shape[1:]) for tensor in getattr(head, "inputs", None) or ()]
        fits = len(shapes) == 2 and all(
            len(shape) == 3
            and all(size in (None, own) for size, own in zip(shape, self.image_shape))
            for shape in shapes
        )
        if not isinstance(head, keras.Model) or not fits:
            raise ValueError(
                "pixelcnn must be a model [images, decoder_logits] -> logits of the images' "
                f"shape {self.image_shape}: build it with vae_tf.models.pixelcnn.build_pixelcnn"
                f"({self.image_shape})."
            )
        if self.likelihood != "bernoulli" or self.decoder_output != "logits":
            raise ValueError(
                "The PixelCNN decoder gives Bernoulli logits of each pixel given the pixels "
                f"before it; this model has likelihood={self.likelihood!r} and decoder_output="
                f"{self.decoder_output!r}. Use likelihood='bernoulli' with a decoder giving "
                "logits (binary images), or no pixelcnn."
            )

    @staticmethod
    def _make_flow(encoder, flow, steps):
        if flow is None:
            if steps is not None:
                raise ValueError(
                    f"flow_steps={steps} without a flow: give flow='planar' or 'iaf' too, or "
                    "drop flow_steps."
                )
            return None
        shapes = [tuple(output.shape[1:]) for output in encoder.outputs]
        if len(shapes) != 3 or len(shapes[0]) != 1 or not has_context(encoder):
            raise ValueError(
                "A flow posterior needs an encoder with three outputs over flat codes, "
                f"[z_mean, z_log_var, context] (the third named 'context'); this one outputs "
                f"{encoder.output_names} of shapes {shapes}. Build it with build_encoder(..., "
                "context_dim=vae_tf.models.flows.default_context_dim(latent_dim))."
            )
        return make_flow(flow, shapes[0][0], shapes[2][0], steps)

    @classmethod
    def _check_encoder_outputs(cls, encoder):
        if len(encoder.outputs) not in (2, 3):
            raise ValueError(
                "The encoder must output [z_mean, z_log_var] (optionally a third output: z, "
                f"ignored, or a flow's context); it has {len(encoder.outputs)} outputs."
            )

    @property
    def beta(self):
        """Weight of the KL term; setting it also sets `kl_weight` (a schedule's target)."""
        return self._beta

    @beta.setter
    def beta(self, value):
        self._beta = BETA("beta", value)
        self.kl_weight.assign(self._beta)

    def clipped(self, z_log_var):
        """`z_log_var` clipped to `[-z_log_var_clip, z_log_var_clip]` (unchanged when off)."""
        if self.z_log_var_clip is None:
            return z_log_var
        return ops.clip(z_log_var, -self.z_log_var_clip, self.z_log_var_clip)

    def gaussian(self, outputs):
        """The `DiagonalGaussian` of a network's `[mean, log_var]` outputs (log_var clipped)."""
        return DiagonalGaussian(outputs[0], self.clipped(outputs[1]), noise_source=self.sampler)

    def posterior(self, images, condition=None, training=False):
        """The diagonal Gaussian of the encoder, or a `FlowPosterior` when there is a flow."""
        outputs = self.encoder(self.network_inputs(images, condition), training=training)
        if self.flow is None:
            return self.gaussian(outputs)
        return FlowPosterior(self.gaussian(outputs), self.flow, outputs[2], self.sampler)

    @property
    def served_layers(self):
        return [*super().served_layers, *([self.flow] if self.flow is not None else [])]

    @property
    def networks(self):
        if self.pixelcnn is None:
            return super().networks
        return {**super().networks, "pixelcnn": self.pixelcnn}

    def reconstruction_nll(self, images, decoder_output):
        """`-log p(x|z)` per example: with a PixelCNN, of each pixel given the ones before it."""
        if self.pixelcnn is not None:
            decoder_output = self.pixelcnn([images, decoder_output])
        return super().reconstruction_nll(images, decoder_output)

    @property
    def stochastic_decoding(self):
        return self.pixelcnn is not None

    def decoded_probabilities(self, decoder_output, images=None, seed=None):
        """With a PixelCNN, drawn pixel by pixel (`draw_pixels`), or conditioned on `images`."""
        if self.pixelcnn is None:
            return super().decoded_probabilities(decoder_output, images, seed)
        if images is not None:
            return self.probabilities(self.pixelcnn([images, decoder_output]))
        return draw_pixels(self.pixelcnn, decoder_output, 0 if seed is None else seed)[0]

    @property
    def bound_name(self):
        """The optimized bound when it is not the ELBO (`loss` in the history), else None."""
        if self.objective == "iwae":
            return f"negative IWAE bound, k={self.num_samples}"
        return None

    def loss_terms(self, images, condition=None, training=False):
        """The ELBO's named terms of `num_samples` codes per image, and the IWAE bound.

        The single-sample ELBO under a closed-form KL is the family's
        default (`one_draw_terms`); otherwise all K codes are
        decoded in one call, the reconstruction is their mean, the KL the
        closed form or the mean of `log q(z_k|x) - log p(z_k)` (one column
        per stochastic layer), and the IWAE objective is the term `iwae`,
        `log K - logsumexp_k(-reconstruction_k - kl_weight * kl_k)` (the
        history's `loss`), with the ELBO's terms logged beside it.
        """
        posterior = self.posterior(images, condition, training=training)
        kl = self.prior.kl(posterior)
        if self.objective == "elbo" and self.num_samples == 1 and kl is not None:
            return self.one_draw_terms(images, posterior, condition, training, kl)
        reconstruction, log_posterior, log_prior = self.importance_terms(
            images, None, condition, training, posterior, num_samples=self.num_samples
        )
        kl_samples = log_posterior - log_prior  # (batch, K, layers)
        if kl is None:
            kl = ops.mean(kl_samples, axis=1)
        iwae = self.objective == "iwae"
        terms = self.elbo_terms(ops.mean(reconstruction, axis=1), kl, optimized=not iwae)
        if iwae:
            log_weights = -reconstruction - self.kl_weight * ops.sum(kl_samples, axis=-1)
            bound = np.log(self.num_samples) - ops.logsumexp(log_weights, axis=1)
            terms["iwae"] = LossTerm(bound, in_total=False, logged=False)
        return terms

    def importance_terms(
        self,
        images,
        seed_or_noise=None,
        condition=None,
        training=False,
        posterior=None,
        num_samples=None,
    ):
        """The terms of the importance weights of K codes per image.

        All K codes of an image are decoded in one batched call.

        Args:
            images: `(batch, H, W, C)` images.
            seed_or_noise: The draws' standard normal noise
                `(batch, K, *noise_shape)`, or a seed (an integer or an int32
                `(2,)` tensor, stateless), or None (the model's `Sampler`);
                see `vae_tf.models.posteriors`.
            condition: One-hot labels `(batch, num_classes)` of a conditional
                model (`condition(labels)`), else None.
            training: Whether the networks run in training mode.
            posterior: `posterior(images, condition)`, if already computed.
            num_samples: K, when `seed_or_noise` is not the noise itself.

        Returns:
            `(reconstruction, log_posterior, log_prior)` in nats:
            `-log p(x|z_k)`, `(batch, K)`, and the log-densities of the codes
            under `q` and `p`, `(batch, K, layers)`, one column per stochastic
            layer (one here).
        """
        posterior = posterior or self.posterior(images, condition, training=training)
        z, log_posterior = posterior.sample_and_log_prob(seed_or_noise, num_samples)
        reconstruction = self.codes_reconstruction_nll(images, z, condition, training)
        return reconstruction, log_posterior[..., None], self.prior.log_prob(z)[..., None]

    def log_importance_weights(self, images, seed_or_noise, condition=None, num_samples=None):
        """`log p(x, z_k) - log q(z_k|x)` for K codes per image drawn with `seed_or_noise`.

        The building block of the importance-weighted bound (Burda et al.,
        2015): `logsumexp_k` of the weights minus `log K` bounds `log p(x)`.
        The prior's own density is used, and every stochastic layer counts.

        Args:
            images: `(batch, H, W, C)` images.
            seed_or_noise: Standard normal noise `(batch, K, *noise_shape)`,
                or a stateless seed with `num_samples` (see `importance_terms`).
            condition: One-hot labels of a conditional model, else None.
            num_samples: K, with a seed.

        Returns:
            `(log_weights, reconstruction)`, each `(batch, K)`, in nats;
            reconstruction is `-log p(x|z_k)`.
        """
        reconstruction, log_posterior, log_prior = self.importance_terms(
            images, seed_or_noise, condition, num_samples=num_samples
        )
        log_weights = -reconstruction + ops.sum(log_prior - log_posterior, axis=-1)
        return log_weights, reconstruction

    def get_config(self):
        return {
            **super().get_config(),
            "beta": self.beta,
            "free_bits": self.free_bits,
            "z_log_var_clip": self.z_log_var_clip,
            "objective": self.objective,
            "num_samples": self.num_samples,
            "flow": None if self.flow is None else keras.saving.serialize_keras_object(self.flow),
            "pixelcnn": None
            if self.pixelcnn is None
            else keras.saving.serialize_keras_object(self.pixelcnn),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("flow", "pixelcnn"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return super().from_config(config)
