"""Two stochastic layers: `HierarchicalVAE` (Burda et al.) and `TopDownHierarchicalVAE` (Tomczak).

`HierarchicalVAE`: `q(z1|x) q(z2|z1)` and `p(z2) p(z1|z2) p(x|z1)`;
`TopDownHierarchicalVAE`: `q(z2|x) q(z1|x, z2)` and `p(z2) p(z1|z2) p(x|z1, z2)`.
"""

import math

import keras
from keras import ops

from vae_tf.models.flows import has_context
from vae_tf.models.posteriors import TopDownGaussian
from vae_tf.models.posteriors import TwoLayerGaussian
from vae_tf.models.vae import VAE


def _check_gaussian_network(name, network, input_size, output_size):
    if not isinstance(network, keras.Model) or not network.built:
        raise ValueError(f"{name} must be a built keras.Model; got {type(network).__name__}.")
    if tuple(network.inputs[0].shape[1:]) != (input_size,) or len(network.inputs) != 1:
        raise ValueError(
            f"{name} must take one input of shape ({input_size},); it takes "
            f"{[tuple(tensor.shape[1:]) for tensor in network.inputs]}."
        )
    _check_gaussian_outputs(name, network, output_size)


def _check_gaussian_outputs(name, network, size):
    shapes = [tuple(tensor.shape[1:]) for tensor in network.outputs]
    if shapes != [(size,), (size,)]:
        raise ValueError(
            f"{name} must output [mean, log_var] of shape ({size},) each; it outputs {shapes}."
        )


def _gaussian_log_density(z, mean, log_var):
    """`log N(z; mean, diag(exp(log_var)))`, summed over the last axis (a prior `p(z1|z2)`)."""
    return -0.5 * ops.sum(
        ops.square(z - mean) * ops.exp(-log_var) + log_var + math.log(2.0 * math.pi), axis=-1
    )


class _TwoLayerVAE(VAE):
    """What both two-layer VAEs share: their extra networks, refusals, `p(z1|z2)`, config.

    The networks of the layer z1 besides the encoder and the decoder are
    named in `layer_networks`, set before the base builds the model, listed
    in `networks` (diagrams, the SavedModel) and serialized in the config.
    """

    #: The names of the networks besides encoder and decoder, in the config's order.
    layer_networks = ()

    def __init__(self, encoder, decoder, layer_networks, **kwargs):
        name = type(self).__name__
        if kwargs.get("num_classes") is not None:
            raise ValueError(
                f"{name} is unconditional: train a conditional model with one stochastic "
                "layer (VAE(..., num_classes=...))."
            )
        if kwargs.get("flow") is not None:
            raise ValueError(
                f"{name}'s posterior is two Gaussians, without a flow: put a flow on a "
                "one-layer VAE (VAE(..., flow='iaf'))."
            )
        # Before the base, which builds the prior over z2 and checks the decoder.
        for key in self.layer_networks:
            setattr(self, key, layer_networks[key])
        super().__init__(encoder, decoder, **kwargs)

    @property
    def networks(self):
        return {**super().networks, **{key: getattr(self, key) for key in self.layer_networks}}

    @property
    def stochastic_layers(self):
        return 2

    def layer_log_priors(self, flat_z1, flat_z2, batch, count, training=False):
        """`log p(z1|z2)` and `log p(z2)` of flat draws, stacked: `(batch, count, 2)`."""
        prior_mean, prior_log_var = self.top_decoder(flat_z2, training=training)
        log_p1 = _gaussian_log_density(flat_z1, prior_mean, prior_log_var)
        return ops.stack(
            [
                ops.reshape(log_p1, (batch, count)),
                ops.reshape(self.prior.log_prob(flat_z2), (batch, count)),
            ],
            axis=-1,
        )

    def get_config(self):
        config = super().get_config()
        for key in self.layer_networks:
            config[key] = keras.saving.serialize_keras_object(getattr(self, key))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in cls.layer_networks:
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return super().from_config(config)


@keras.saving.register_keras_serializable(package="vae_tf")
class HierarchicalVAE(_TwoLayerVAE):
    """A VAE with two stochastic layers (Burda et al., 2015), in the family's one step.

    Inference `q(z1|x) q(z2|z1)` and generation `p(z2) p(z1|z2) p(x|z1)`, all
    diagonal Gaussians but `p(z2)` (the model's `prior`: N(0, I), a mixture or
    the VampPrior) and `p(x|z1)` (the likelihood). The objective is the ELBO
    or the IWAE bound of K draws of both layers; the KL is the Monte Carlo
    estimate `log q(z1, z2|x) - log p(z1, z2)`, reported per layer
    (the `kl` term has one column per layer: z1, then z2).

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

    layer_networks = ("top_encoder", "top_decoder")

    def __init__(self, encoder, decoder, top_encoder, top_decoder, **kwargs):
        hidden = encoder.outputs[0].shape[-1]
        latent = top_encoder.outputs[0].shape[-1] if top_encoder.outputs else None
        _check_gaussian_network("top_encoder", top_encoder, hidden, latent)
        _check_gaussian_network("top_decoder", top_decoder, latent, hidden)
        networks = {"top_encoder": top_encoder, "top_decoder": top_decoder}
        super().__init__(encoder, decoder, networks, **kwargs)

    @property
    def latent_dim(self):
        """Size of the top code z2 (the prior's)."""
        return self.top_encoder.outputs[0].shape[-1]

    @property
    def hidden_latent_dim(self):
        """Size of the first stochastic layer z1."""
        return self.encoder.outputs[0].shape[-1]

    @property
    def code_shape(self):
        """The top code z2's shape (the prior's)."""
        return (self.latent_dim,)

    def posterior(self, images, condition=None, training=False):
        """`q(z1|x) q(z2|z1)`, a `TwoLayerGaussian`: its code is z2, at the mean of z1."""
        bottom = self.gaussian(self.encoder(images, training=training)[:2])
        return TwoLayerGaussian(
            bottom,
            lambda z1: self.gaussian(self.top_encoder(z1, training=training)),
            noise_source=self.sampler,
        )

    def raw_decode(self, z, condition=None, training=False):
        """The decoder's output for top codes z2, through the mean of `p(z1|z2)`."""
        z1_mean, _ = self.top_decoder(z, training=training)
        return self.decoder(z1_mean, training=training)

    def importance_terms(
        self,
        images,
        seed_or_noise=None,
        condition=None,
        training=False,
        posterior=None,
        num_samples=None,
    ):
        """As `VAE.importance_terms`, over both layers: columns z1 and z2.

        The noise is `(batch, K, hidden_latent_dim + latent_dim)`: that of
        z1, then of z2.
        """
        posterior = posterior or self.posterior(images, training=training)
        noise = posterior.noise(seed_or_noise, num_samples)
        z1, flat_z1, flat_z2, log_q1, log_q2 = posterior.layer_draws(noise)
        batch, count = ops.shape(z1)[0], ops.shape(z1)[1]
        log_prior = self.layer_log_priors(flat_z1, flat_z2, batch, count, training)
        reconstruction = self.codes_reconstruction_nll(images, z1, None, training)
        return reconstruction, ops.stack([log_q1, log_q2], axis=-1), log_prior


@keras.saving.register_keras_serializable(package="vae_tf")
class TopDownHierarchicalVAE(_TwoLayerVAE):
    """Two stochastic layers inferred top first: Tomczak & Welling's (2018) convHVAE.

    Inference `q(z2|x) q(z1|x, z2)` and generation `p(z2) p(z1|z2) p(x|z1,
    z2)`: the top layer z2 (the model's code, under its `prior`) is read from
    the image itself, and both layers reach the decoder, which keeps the top
    layer in use where the two-layer VAE of Burda et al. (`HierarchicalVAE`,
    `p(x|z1)`) lets most of it go unused. All diagonal Gaussians but `p(z2)`
    and `p(x|z1, z2)`. The objective, the per-layer KL, `encode` (the
    posterior of z2), `decode` (z2 through the mean of `p(z1|z2)`) and the
    SavedModel are as in `HierarchicalVAE`.

    Args:
        encoder: `images -> [z2_mean, z2_log_var, context]`, the context the
            features of the image that `q(z1|x, z2)` reads.
        decoder: `[z1, z2]` (one vector: z1, then z2) -> logits.
        bottom_encoder: `[context, z2] -> [z1_mean, z1_log_var]`.
        top_decoder: `z2 -> [mean, log_var]` of `p(z1|z2)`.
        **kwargs: As `VAE` (beta, objective, num_samples, prior, pixelcnn,
            ...); not conditional, without a flow or free bits.

    Example:

    ```python
    networks = vae_tf.build_top_down_networks("gated", latent_dim=40)
    model = TopDownHierarchicalVAE(*networks, prior="vamp")
    ```
    """

    layer_networks = ("bottom_encoder", "top_decoder")

    def __init__(self, encoder, decoder, bottom_encoder, top_decoder, **kwargs):
        if not has_context(encoder):
            raise ValueError(
                "The encoder of TopDownHierarchicalVAE outputs [z2_mean, z2_log_var, context], "
                f"the third named 'context'; it outputs {encoder.output_names} "
                "(build_top_down_networks)."
            )
        latent = encoder.outputs[0].shape[-1]
        context = encoder.outputs[2].shape[-1]
        hidden = bottom_encoder.outputs[0].shape[-1] if bottom_encoder.outputs else None
        shapes = [tuple(tensor.shape[1:]) for tensor in bottom_encoder.inputs]
        if shapes != [(context,), (latent,)]:
            raise ValueError(
                f"bottom_encoder must take [context ({context},), z2 ({latent},)]; it takes "
                f"{shapes}."
            )
        _check_gaussian_outputs("bottom_encoder", bottom_encoder, hidden)
        _check_gaussian_network("top_decoder", top_decoder, latent, hidden)
        networks = {"bottom_encoder": bottom_encoder, "top_decoder": top_decoder}
        super().__init__(encoder, decoder, networks, **kwargs)

    def _decoder_code_shape(self, encoder):
        return (self.bottom_encoder.outputs[0].shape[-1] + encoder.outputs[0].shape[-1],)

    @property
    def hidden_latent_dim(self):
        """Size of the bottom stochastic layer z1."""
        return self.bottom_encoder.outputs[0].shape[-1]

    def posterior(self, images, condition=None, training=False):
        """`q(z2|x) q(z1|x, z2)`, a `TopDownGaussian`: its code is z2."""
        z2_mean, z2_log_var, context = self.encoder(images, training=training)

        def bottom(z2, repeats):
            inputs = [ops.repeat(context, repeats, axis=0), ops.cast(z2, context.dtype)]
            return self.gaussian(self.bottom_encoder(inputs, training=training))

        return TopDownGaussian(
            self.gaussian([z2_mean, z2_log_var]),
            bottom,
            self.hidden_latent_dim,
            noise_source=self.sampler,
        )

    def raw_decode(self, z, condition=None, training=False):
        """The decoder's output for top codes z2, with z1 the mean of `p(z1|z2)`."""
        z1_mean, _ = self.top_decoder(z, training=training)
        return self.decoder(ops.concatenate([z1_mean, z], axis=-1), training=training)

    def importance_terms(
        self,
        images,
        seed_or_noise=None,
        condition=None,
        training=False,
        posterior=None,
        num_samples=None,
    ):
        """As `VAE.importance_terms`, over both layers: columns z1 and z2."""
        posterior = posterior or self.posterior(images, training=training)
        noise = posterior.noise(seed_or_noise, num_samples)
        z1, z2, log_q1, log_q2 = posterior.layer_draws(noise)
        batch, count = ops.shape(z1)[0], ops.shape(z1)[1]
        flat_z1 = ops.reshape(z1, (batch * count, self.hidden_latent_dim))
        flat_z2 = ops.reshape(z2, (batch * count, self.latent_dim))
        log_prior = self.layer_log_priors(flat_z1, flat_z2, batch, count, training)
        codes = ops.concatenate([z1, z2], axis=-1)
        reconstruction = self.codes_reconstruction_nll(images, codes, None, training)
        return reconstruction, ops.stack([log_q1, log_q2], axis=-1), log_prior
