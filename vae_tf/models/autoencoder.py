"""The deterministic `Autoencoder`: the baseline that shows what the VAE's KL term buys."""

import keras
from keras import ops

from vae_tf.models.base import LatentVariableModel


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

    variational = False

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
        outputs = self.encoder(self.network_inputs(images, condition), training=training)
        return (outputs[0] if isinstance(outputs, (list, tuple)) else outputs), None

    def kl_per_dimension(self, z_mean, z_log_var):
        """No KL term: zeros `(batch, latent_dim)`."""
        return ops.zeros_like(ops.cast(z_mean, "float32"))
