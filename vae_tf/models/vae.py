"""The `VAE`: a diagonal Gaussian posterior, a prior, beta, free bits; the family's step."""

import keras
from keras import ops

from vae_tf import losses
from vae_tf._checks import Number
from vae_tf.models.base import LatentVariableModel

# The checks of the settings, shared with `vae_tf.TrainConfig`.
BETA = Number(low=0.0)
FREE_BITS = Number(low=0.0)
Z_LOG_VAR_CLIP = Number(low=0.0, low_open=True, optional=True, note="None: off")


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
    ```
    """

    def __init__(
        self, encoder, decoder, beta=1.0, likelihood="bernoulli", sigma=0.1, free_bits=0.0,
        z_log_var_clip=None, decoder_output="auto", seed=None, num_classes=None, **kwargs,
    ):
        super().__init__(
            encoder, decoder, likelihood=likelihood, sigma=sigma, decoder_output=decoder_output,
            seed=seed, num_classes=num_classes, **kwargs,
        )
        self.free_bits = FREE_BITS("free_bits", free_bits)
        self.z_log_var_clip = Z_LOG_VAR_CLIP("z_log_var_clip", z_log_var_clip)
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

    def posterior(self, images, condition=None, training=False):
        outputs = self.encoder(self.network_inputs(images, condition), training=training)
        z_mean, z_log_var = outputs[0], outputs[1]
        if self.z_log_var_clip is not None:
            z_log_var = ops.clip(z_log_var, -self.z_log_var_clip, self.z_log_var_clip)
        return z_mean, z_log_var

    def kl_per_dimension(self, z_mean, z_log_var):
        """`KL(q(z|x) || p(z))` per dimension, the prior's closed form."""
        return self.prior.kl_per_dimension(z_mean, z_log_var)

    def log_importance_weights(self, images, z_mean, z_log_var, epsilon, condition=None):
        """`log p(x, z_k) - log q(z_k|x)` for the codes `z_k = z_mean + sigma * epsilon_k`.

        The building block of the importance-weighted bound (Burda et al.,
        2015): `logsumexp_k` of the weights minus `log K` bounds `log p(x)`.
        All K codes of an image are decoded in one batched call.

        Args:
            images: `(batch, H, W, C)` images.
            z_mean, z_log_var: Their posterior, `(batch, latent_dim)` each.
            epsilon: Standard normal noise `(batch, K, latent_dim)`.
            condition: One-hot labels `(batch, num_classes)` of a conditional
                model (`condition(labels)`), else None.

        Returns:
            `(log_weights, reconstruction)`, each `(batch, K)`, in nats;
            reconstruction is `-log p(x|z_k)`.
        """
        batch, num_samples = ops.shape(epsilon)[0], ops.shape(epsilon)[1]
        z = z_mean[:, None, :] + ops.exp(0.5 * z_log_var)[:, None, :] * epsilon
        flat_z = ops.reshape(z, (batch * num_samples, self.latent_dim))
        repeated = ops.repeat(images, num_samples, axis=0)
        if condition is not None:
            condition = ops.repeat(condition, num_samples, axis=0)
        reconstruction = ops.reshape(
            self.reconstruction_nll(repeated, self.raw_decode(flat_z, condition)),
            (batch, num_samples),
        )
        log_posterior = losses.diagonal_normal_log_density(epsilon, z_log_var[:, None, :])
        return -reconstruction + self.prior.log_prob(z) - log_posterior, reconstruction

    def get_config(self):
        return {
            **super().get_config(),
            "beta": self.beta,
            "free_bits": self.free_bits,
            "z_log_var_clip": self.z_log_var_clip,
        }
