"""The `VAE`: a diagonal Gaussian posterior, a prior, beta, free bits, the ELBO or IWAE bound."""

import keras
import numpy as np
from keras import ops

from vae_tf import losses
from vae_tf.models.base import LatentVariableModel
from vae_tf.models.objective import LossTerms
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


def check_free_bits(free_bits, objective, prior, stochastic_layers=1):
    """Free bits need a per-dimension KL: refused with the IWAE bound, a mixture prior, two layers.

    `prior` is a `vae_tf.models.Prior` or a name of `PRIORS`.
    """
    closed_form = prior == "normal" or getattr(prior, "closed_form_kl", False)
    if free_bits and (objective == "iwae" or not closed_form or stochastic_layers > 1):
        name = prior if isinstance(prior, str) else getattr(prior, "notation", prior)
        if objective == "iwae":
            cause = "objective='iwae' optimizes a bound with no separate KL term"
        elif stochastic_layers > 1:
            cause = "two stochastic layers have no per-dimension KL (no closed form)"
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
        encoder: A model `images -> [z_mean, z_log_var]`. A third output (a
            sample of z, as in the keras.io example) is ignored: the VAE draws
            z with its own seeded `Sampler`.
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
    ```
    """

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
        **kwargs,
    ):
        # Before the base builds the model (and the prior, which may ask the
        # posterior, that is, the clip).
        self.z_log_var_clip = Z_LOG_VAR_CLIP("z_log_var_clip", z_log_var_clip)
        self.objective = OBJECTIVE("objective", objective)
        self.num_samples = NUM_SAMPLES("num_samples", num_samples)
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
        self.free_bits = FREE_BITS("free_bits", free_bits)
        check_free_bits(self.free_bits, objective, prior, self.stochastic_layers)
        self.beta = beta

    @classmethod
    def _check_encoder_outputs(cls, encoder):
        if len(encoder.outputs) not in (2, 3):
            raise ValueError(
                "The encoder must output [z_mean, z_log_var] (optionally a "
                f"third output z); it has {len(encoder.outputs)} outputs."
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

    def posterior(self, images, condition=None, training=False):
        outputs = self.encoder(self.network_inputs(images, condition), training=training)
        return outputs[0], self.clipped(outputs[1])

    @property
    def bound_name(self):
        """The optimized bound when it is not the ELBO (`loss` in the history), else None."""
        if self.objective == "iwae":
            return f"negative IWAE bound, k={self.num_samples}"
        return None

    def kl_per_dimension(self, z_mean, z_log_var):
        """`KL(q(z|x) || p(z))` per dimension, the prior's closed form.

        Priors without one raise NotImplementedError: their KL is the Monte
        Carlo estimate of `loss_terms`.
        """
        return self.prior.kl_per_dimension(z_mean, z_log_var)

    @property
    def stochastic_layers(self):
        """Layers of latent variables (1; 2 for `HierarchicalVAE`)."""
        return 1

    @property
    def noise_dim(self):
        """Standard normal numbers drawn per code (`latent_dim` for one stochastic layer)."""
        return self.latent_dim

    @property
    def closed_form_kl(self):
        """Whether the reported KL is the closed form (else the Monte Carlo estimate)."""
        return self.prior.closed_form_kl

    @property
    def _single_sample_elbo(self):
        return self.objective == "elbo" and self.num_samples == 1 and self.closed_form_kl

    def loss_terms(self, images, condition=None, training=False):
        """`LossTerms` of `num_samples` codes per image: the ELBO's terms, and the IWAE bound.

        The single-sample ELBO under a closed-form KL is the family's
        default; otherwise all K codes are decoded in one call, the
        reconstruction is their mean, the KL the closed form or the mean of
        `log q(z_k|x) - log p(z_k)` (one column per stochastic layer), and
        the IWAE objective's `bound` is
        `log K - logsumexp_k(-reconstruction_k - kl_weight * kl_k)`.
        """
        if self._single_sample_elbo:
            return super().loss_terms(images, condition, training)
        posterior = (
            self.posterior(images, condition, training=training) if self.closed_form_kl else None
        )
        epsilon = self.sampler.normal((ops.shape(images)[0], self.num_samples, self.noise_dim))
        reconstruction, log_posterior, log_prior = self.importance_terms(
            images, epsilon, condition, training, posterior
        )
        kl_samples = log_posterior - log_prior  # (batch, K, layers)
        if self.closed_form_kl:
            kl = self.prior.kl_per_dimension(*posterior)
        else:
            kl = ops.mean(kl_samples, axis=1)
        bound = None
        if self.objective == "iwae":
            log_weights = -reconstruction - self.kl_weight * ops.sum(kl_samples, axis=-1)
            bound = np.log(self.num_samples) - ops.logsumexp(log_weights, axis=1)
        return LossTerms(ops.mean(reconstruction, axis=1), kl, bound)

    def importance_terms(self, images, epsilon, condition=None, training=False, posterior=None):
        """The terms of the importance weights of K codes per image drawn from the noise `epsilon`.

        `z_k = z_mean + sigma * epsilon_k`; all K codes of an image are
        decoded in one batched call.

        Args:
            images: `(batch, H, W, C)` images.
            epsilon: Standard normal noise `(batch, K, noise_dim)`.
            condition: One-hot labels `(batch, num_classes)` of a conditional
                model (`condition(labels)`), else None.
            training: Whether the networks run in training mode.
            posterior: `posterior(images, condition)`, if already computed.

        Returns:
            `(reconstruction, log_posterior, log_prior)` in nats:
            `-log p(x|z_k)`, `(batch, K)`, and the log-densities of the codes
            under `q` and `p`, `(batch, K, layers)`, one column per stochastic
            layer (one here).
        """
        z_mean, z_log_var = posterior or self.posterior(images, condition, training=training)
        z = z_mean[:, None, :] + ops.exp(0.5 * z_log_var)[:, None, :] * epsilon
        reconstruction = self.codes_reconstruction_nll(images, z, condition, training)
        log_posterior = losses.diagonal_normal_log_density(epsilon, z_log_var[:, None, :])
        return reconstruction, log_posterior[..., None], self.prior.log_prob(z)[..., None]

    def log_importance_weights(self, images, epsilon, condition=None):
        """`log p(x, z_k) - log q(z_k|x)` for K codes per image drawn from the noise `epsilon`.

        The building block of the importance-weighted bound (Burda et al.,
        2015): `logsumexp_k` of the weights minus `log K` bounds `log p(x)`.
        The prior's own density is used, and every stochastic layer counts.

        Args:
            images: `(batch, H, W, C)` images.
            epsilon: Standard normal noise `(batch, K, noise_dim)`.
            condition: One-hot labels of a conditional model, else None.

        Returns:
            `(log_weights, reconstruction)`, each `(batch, K)`, in nats;
            reconstruction is `-log p(x|z_k)`.
        """
        reconstruction, log_posterior, log_prior = self.importance_terms(images, epsilon, condition)
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
        }
