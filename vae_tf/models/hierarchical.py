"""`HierarchicalVAE`: two stochastic layers, `q(z1|x) q(z2|z1)` and `p(z2) p(z1|z2) p(x|z1)`."""

import math

import keras
from keras import ops

from vae_tf import losses
from vae_tf.models.vae import VAE


def _check_gaussian_network(name, network, input_size, output_size):
    if not isinstance(network, keras.Model) or not network.built:
        raise ValueError(f"{name} must be a built keras.Model; got {type(network).__name__}.")
    if tuple(network.inputs[0].shape[1:]) != (input_size,) or len(network.inputs) != 1:
        raise ValueError(
            f"{name} must take one input of shape ({input_size},); it takes "
            f"{[tuple(tensor.shape[1:]) for tensor in network.inputs]}."
        )
    shapes = [tuple(tensor.shape[1:]) for tensor in network.outputs]
    if shapes != [(output_size,), (output_size,)]:
        raise ValueError(
            f"{name} must output [mean, log_var] of shape ({output_size},) each; it "
            f"outputs {shapes}."
        )


@keras.saving.register_keras_serializable(package="vae_tf")
class HierarchicalVAE(VAE):
    """A VAE with two stochastic layers (Burda et al., 2015), in the family's one step.

    Inference `q(z1|x) q(z2|z1)` and generation `p(z2) p(z1|z2) p(x|z1)`, all
    diagonal Gaussians but `p(z2)` (the model's `prior`: N(0, I), a mixture or
    the VampPrior) and `p(x|z1)` (the likelihood). The objective is the ELBO
    or the IWAE bound of K draws of both layers; the KL is the Monte Carlo
    estimate `log q(z1, z2|x) - log p(z1, z2)`, reported per layer
    (`kl_per_dimension` has one column per layer: z1, then z2).

    The model's code is the top layer z2: `latent_dim`, `encode` (the
    posterior of z2 at the mean of z1), `decode` (through the mean of
    `p(z1|z2)`, so that decoding is deterministic), `sample`, the figures
    and the SavedModel all speak of z2; `hidden_latent_dim` is z1's size.

    Args:
        encoder: `images -> [z1_mean, z1_log_var]`.
        decoder: `z1 -> logits` (or probabilities, see `VAE`).
        top_encoder: `z1 -> [z2_mean, z2_log_var]`.
        top_decoder: `z2 -> [mean, log_var]` of `p(z1|z2)`.
        **kwargs: As `VAE` (beta, objective, num_samples, prior, ...); not
            conditional, and without free bits (the KL has no closed form).

    Example:

    ```python
    networks = vae_tf.build_hierarchical_networks(latent_dim=50)
    model = HierarchicalVAE(*networks, objective="iwae", num_samples=5, prior="vamp")
    model.compile(optimizer="adam")
    model.fit(x_train, epochs=100, batch_size=128)
    ```
    """

    def __init__(self, encoder, decoder, top_encoder, top_decoder, **kwargs):
        if kwargs.get("num_classes") is not None:
            raise ValueError(
                "HierarchicalVAE is unconditional: train a conditional model with one "
                "stochastic layer (VAE(..., num_classes=...))."
            )
        hidden = encoder.outputs[0].shape[-1]
        latent = top_encoder.outputs[0].shape[-1] if top_encoder.outputs else None
        _check_gaussian_network("top_encoder", top_encoder, hidden, latent)
        _check_gaussian_network("top_decoder", top_decoder, latent, hidden)
        # Before the base builds the prior, which is over z2.
        self.top_encoder = top_encoder
        self.top_decoder = top_decoder
        super().__init__(encoder, decoder, **kwargs)

    @property
    def latent_dim(self):
        """Size of the top code z2 (the prior's)."""
        return self.top_encoder.outputs[0].shape[-1]

    @property
    def networks(self):
        return {
            **super().networks,
            "top_encoder": self.top_encoder,
            "top_decoder": self.top_decoder,
        }

    @property
    def hidden_latent_dim(self):
        """Size of the first stochastic layer z1."""
        return self.encoder.outputs[0].shape[-1]

    @property
    def noise_dim(self):
        return self.hidden_latent_dim + self.latent_dim

    @property
    def closed_form_kl(self):
        return False

    @property
    def stochastic_layers(self):
        return 2

    def hidden_posterior(self, images, training=False):
        """`(z1_mean, z1_log_var)` of `q(z1|x)`, `(batch, hidden_latent_dim)` each."""
        z_mean, z_log_var = self.encoder(images, training=training)[:2]
        return z_mean, self.clipped(z_log_var)

    def top_posterior(self, z1, training=False):
        """`(z2_mean, z2_log_var)` of `q(z2|z1)`."""
        z_mean, z_log_var = self.top_encoder(z1, training=training)
        return z_mean, self.clipped(z_log_var)

    def posterior(self, images, condition=None, training=False):
        """`q(z2|x)` read at the mean of z1: `q(z2 | E[z1|x])`."""
        return self.top_posterior(self.hidden_posterior(images, training)[0], training)

    def raw_decode(self, z, condition=None, training=False):
        """The decoder's output for top codes z2, through the mean of `p(z1|z2)`."""
        z1_mean, _ = self.top_decoder(z, training=training)
        return self.decoder(z1_mean, training=training)

    def importance_terms(self, images, epsilon, condition=None, training=False, posterior=None):
        """As `VAE.importance_terms`, over both layers: columns z1 and z2.

        `epsilon` is `(batch, K, hidden_latent_dim + latent_dim)`: the noise
        of z1, then of z2. `posterior` is not used (z2's depends on z1's draw).
        """
        batch, num_samples = ops.shape(epsilon)[0], ops.shape(epsilon)[1]
        hidden, latent = self.hidden_latent_dim, self.latent_dim
        epsilon1, epsilon2 = epsilon[..., :hidden], epsilon[..., hidden:]
        z1_mean, z1_log_var = self.hidden_posterior(images, training)
        z1 = z1_mean[:, None, :] + ops.exp(0.5 * z1_log_var)[:, None, :] * epsilon1
        flat_z1 = ops.reshape(z1, (batch * num_samples, hidden))
        z2_mean, z2_log_var = self.top_posterior(flat_z1, training)
        flat_epsilon2 = ops.reshape(epsilon2, (batch * num_samples, latent))
        flat_z2 = z2_mean + ops.exp(0.5 * z2_log_var) * flat_epsilon2
        prior_mean, prior_log_var = self.top_decoder(flat_z2, training=training)
        flat_z1_log_prior = -0.5 * ops.sum(
            ops.square(flat_z1 - prior_mean) * ops.exp(-prior_log_var)
            + prior_log_var
            + math.log(2.0 * math.pi),
            axis=-1,
        )
        log_posterior = ops.stack(
            [
                losses.diagonal_normal_log_density(epsilon1, z1_log_var[:, None, :]),
                ops.reshape(
                    losses.diagonal_normal_log_density(flat_epsilon2, z2_log_var),
                    (batch, num_samples),
                ),
            ],
            axis=-1,
        )
        log_prior = ops.stack(
            [
                ops.reshape(flat_z1_log_prior, (batch, num_samples)),
                ops.reshape(self.prior.log_prob(flat_z2), (batch, num_samples)),
            ],
            axis=-1,
        )
        reconstruction = self.codes_reconstruction_nll(images, z1, None, training)
        return reconstruction, log_posterior, log_prior

    def get_config(self):
        config = super().get_config()
        for key in ("top_encoder", "top_decoder"):
            config[key] = keras.saving.serialize_keras_object(getattr(self, key))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("top_encoder", "top_decoder"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return super().from_config(config)
