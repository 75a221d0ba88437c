"""The deterministic `Autoencoder`: the baseline that shows what the VAE's KL term buys."""

import keras
from keras import ops

from vae_tf.models.architectures import build_encoder_decoder
from vae_tf.models.base import LatentVariableModel
from vae_tf.models.posteriors import Deterministic
from vae_tf.models.registry import Variant
from vae_tf.models.registry import register_variant


@keras.saving.register_keras_serializable(package="vae_tf")
class Autoencoder(LatentVariableModel):
    """A deterministic autoencoder with the VAE's networks, step and tools: the baseline.

    The encoder gives the code `z` itself (build it with
    `build_encoder(..., variational=False)`); there is no sampling and no KL
    term, so training minimizes the reconstruction alone. Nothing pulls the
    codes towards the prior N(0, I): decoding prior samples (`sample`) shows
    what the VAE's KL term buys. `kl_loss` and `kl_weight` are reported as 0,
    and `encode` returns `(z, None)`.

    Example:

    ```python
    encoder, decoder = vae_tf.build_encoder_decoder("conv", 2, variational=False)
    ae = Autoencoder(encoder, decoder)
    ae.compile(optimizer="adam")
    ae.fit(x_train, epochs=30, batch_size=128)
    ```
    """

    def __init__(
        self,
        encoder,
        decoder,
        likelihood="bernoulli",
        sigma=0.1,
        decoder_output="auto",
        seed=None,
        num_classes=None,
        **kwargs,
    ):
        super().__init__(
            encoder,
            decoder,
            likelihood=likelihood,
            sigma=sigma,
            decoder_output=decoder_output,
            seed=seed,
            num_classes=num_classes,
            **kwargs,
        )
        self.kl_weight.assign(0.0)

    @classmethod
    def _check_encoder_outputs(cls, encoder):
        if len(encoder.outputs) != 1:
            raise ValueError(
                "An Autoencoder's encoder must output the code z alone (build it with "
                f"variational=False); it has {len(encoder.outputs)} outputs."
            )

    def posterior(self, images, condition=None, training=False):
        """The code itself, a `Deterministic` posterior."""
        outputs = self.encoder(self.network_inputs(images, condition), training=training)
        return Deterministic(outputs[0] if isinstance(outputs, (list, tuple)) else outputs)

    def loss_terms(self, images, condition=None, training=False):
        """The reconstruction of the code itself; the KL term is zeros (weight 0), logged as 0."""
        z = self.posterior(images, condition, training=training).mean()
        reconstruction = self.code_reconstruction_nll(images, z, condition, training)
        return self.elbo_terms(reconstruction, ops.zeros_like(ops.cast(z, "float32")))


def deterministic_networks(config, image_shape, num_classes):
    """The `(encoder, decoder)` of a config's preset with a deterministic code (no variance).

    Example: `deterministic_networks(TrainConfig(latent_dim=8), (28, 28, 1), None)`.
    """
    return build_encoder_decoder(
        config.architecture, config.latent_dim, image_shape, num_classes, variational=False
    )


def _build(config, image_shape, common):
    return Autoencoder(
        *deterministic_networks(config, image_shape, common["num_classes"]), **common
    )


register_variant(
    Variant(
        name="autoencoder",
        description="the deterministic autoencoder with the same networks (no sampling, no KL): "
        "the baseline to compare with",
        model_class=Autoencoder,
        build=_build,
        refusal="the autoencoder has no KL term, no sampling and no prior",
    )
)
