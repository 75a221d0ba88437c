"""The `VAE` model: a Keras model with its own training and evaluation steps."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from vae_tf import losses
from vae_tf.data import check_images
from vae_tf.layers import Sampler

DECODER_OUTPUTS = ("auto", "logits", "probabilities")


def _ends_in_sigmoid(decoder):
    activation = getattr(decoder.layers[-1], "activation", None)
    return getattr(activation, "__name__", None) == "sigmoid"


def _checked_if_array(images, image_shape, name):
    """Validates concrete (numpy or list) images; tensors and datasets pass."""
    if isinstance(images, (np.ndarray, list)):
        return check_images(images, image_shape, name=name)
    return images


@keras.saving.register_keras_serializable(package="vae_tf")
class VAE(keras.Model):
    """A Variational Autoencoder (Kingma & Welling, 2014).

    The encoder maps images to the mean and log-variance of a diagonal
    Gaussian `q(z|x)`; a `Sampler` draws `z` with the reparameterization
    trick; the decoder maps `z` to a per-pixel Bernoulli `p(x|z)`. Training
    minimizes, per example and averaged over the batch (in nats),
    `reconstruction + beta * KL`, where reconstruction is `-log p(x|z)` summed
    over pixels and KL is `KL(q(z|x) || N(0, I))` summed over latent
    dimensions.

    Metrics: `total_loss` is reconstruction + KL (the negative ELBO, comparable
    across values of beta), `reconstruction_loss`, `kl_loss`, and `loss`, the
    optimized `reconstruction + beta * KL` (equal to `total_loss` at beta=1).

    Args:
        encoder: A model `images -> [z_mean, z_log_var]`. A third output (a
            sample of z, as in the keras.io example) is ignored: the VAE draws
            z with its own seeded `Sampler`.
        decoder: A model `z -> images`, giving Bernoulli logits or, when its
            last layer ends in a sigmoid, probabilities.
        beta: Weight of the KL term (beta-VAE; 1 is the true ELBO).
        decoder_output: `"logits"`, `"probabilities"`, or `"auto"` (logits
            unless the decoder's last layer has a sigmoid activation). Logits
            give an exact, stable likelihood.
        seed: Optional integer seed of the `Sampler`.

    Example:

    ```python
    encoder, decoder = vae_tf.build_encoder_decoder("conv", latent_dim=2)
    vae = VAE(encoder, decoder)
    vae.compile(optimizer="adam")
    vae.fit(x_train, epochs=30, batch_size=128, validation_data=(x_test,))
    images = vae.decode([[0.0, 0.0]])          # probabilities in [0, 1]
    ```
    """

    def __init__(
        self, encoder, decoder, beta=1.0, decoder_output="auto", seed=None, **kwargs
    ):
        super().__init__(**kwargs)
        self._check_networks(encoder, decoder)
        if decoder_output not in DECODER_OUTPUTS:
            raise ValueError(
                f"decoder_output must be one of {DECODER_OUTPUTS}; got "
                f"{decoder_output!r}."
            )
        beta = float(beta)
        if not np.isfinite(beta) or beta < 0:
            raise ValueError(f"beta must be a finite number >= 0; got {beta}.")
        if decoder_output == "auto":
            decoder_output = "probabilities" if _ends_in_sigmoid(decoder) else "logits"
        self.encoder = encoder
        self.decoder = decoder
        self.beta = beta
        self.decoder_output = decoder_output
        self.seed = seed
        self.sampler = Sampler(seed=seed, name="sampler")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        # Built from the start: BackupAndRestore, ExportArchive and
        # model.export refuse an unbuilt subclassed model.
        self.build((None, *self.image_shape))

    @staticmethod
    def _check_networks(encoder, decoder):
        for name, network in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(network, keras.Model) or not network.built:
                raise ValueError(
                    f"{name} must be a built keras.Model (e.g. a functional "
                    f"model); got {type(network).__name__}."
                )
        if len(encoder.outputs) not in (2, 3):
            raise ValueError(
                "The encoder must output [z_mean, z_log_var] (optionally a "
                f"third output z); it has {len(encoder.outputs)} outputs."
            )
        latent_dim = encoder.outputs[0].shape[-1]
        if tuple(decoder.input_shape[1:]) != (latent_dim,):
            raise ValueError(
                f"The decoder takes inputs of shape {decoder.input_shape[1:]}, "
                f"but the encoder gives latent codes of size {latent_dim}."
            )
        if tuple(decoder.output_shape[1:]) != tuple(encoder.input_shape[1:]):
            raise ValueError(
                f"The decoder outputs images of shape {decoder.output_shape[1:]}"
                f" but the encoder takes {encoder.input_shape[1:]}."
            )

    @property
    def latent_dim(self):
        """Size of the latent code z."""
        return self.encoder.outputs[0].shape[-1]

    @property
    def image_shape(self):
        """`(height, width, channels)` of the images."""
        return tuple(self.encoder.input_shape[1:])

    def build(self, input_shape):
        # The encoder and decoder are built networks; nothing to create here.
        pass

    @property
    def metrics(self):
        # Listed here so that Keras resets them at every epoch.
        return [
            self.loss_tracker,
            self.total_loss_tracker,
            self.reconstruction_loss_tracker,
            self.kl_loss_tracker,
        ]

    # -- forward passes -----------------------------------------------------

    def _posterior(self, images, training=False):
        outputs = self.encoder(images, training=training)
        return outputs[0], outputs[1]

    def _probabilities(self, decoder_output):
        decoder_output = ops.cast(decoder_output, "float32")
        if self.decoder_output == "logits":
            return ops.sigmoid(decoder_output)
        return decoder_output

    def _reconstruction_nll(self, images, decoder_output):
        if self.decoder_output == "logits":
            return losses.bernoulli_nll(images, decoder_output)
        return losses.bernoulli_nll_from_probabilities(images, decoder_output)

    def call(self, inputs, training=False):
        """Reconstruction probabilities; z is sampled only when training."""
        z_mean, z_log_var = self._posterior(inputs, training=training)
        z = self.sampler([z_mean, z_log_var]) if training else z_mean
        return self._probabilities(self.decoder(z, training=training))

    def per_example_losses(self, images, training=False):
        """`(reconstruction, kl)`, each of shape `(batch,)`, in nats.

        One Monte Carlo sample of z per image: their sum is an unbiased
        estimate of the per-example negative ELBO.
        """
        z_mean, z_log_var = self._posterior(images, training=training)
        z = self.sampler([z_mean, z_log_var])
        decoder_output = self.decoder(z, training=training)
        return (
            self._reconstruction_nll(images, decoder_output),
            losses.gaussian_kl(z_mean, z_log_var),
        )

    # -- training -----------------------------------------------------------

    @staticmethod
    def _images(data):
        images, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError(
                "VAE does not support sample weights; pass images (and "
                "optionally labels) only."
            )
        return images

    def _update_metrics(self, reconstruction, kl):
        self.loss_tracker.update_state(reconstruction + self.beta * kl)
        self.total_loss_tracker.update_state(reconstruction + kl)
        self.reconstruction_loss_tracker.update_state(reconstruction)
        self.kl_loss_tracker.update_state(kl)
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data):
        images = self._images(data)
        # Gradients are summed across replicas, so the per-example objective
        # is divided by the GLOBAL batch size (the plain mean on one device).
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            reconstruction, kl = self.per_example_losses(images, training=True)
            objective = reconstruction + self.beta * kl
            global_batch = ops.cast(ops.shape(objective)[0] * replicas, "float32")
            loss = ops.sum(objective) / global_batch
            if self.losses:
                loss = loss + ops.sum(self.losses) / replicas
            # Loss scaling for mixed_float16 (a no-op otherwise).
            scaled_loss = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled_loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self._update_metrics(reconstruction, kl)

    def test_step(self, data):
        reconstruction, kl = self.per_example_losses(self._images(data))
        return self._update_metrics(reconstruction, kl)

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        x = _checked_if_array(x, self.image_shape, "x")
        if isinstance(validation_data, (tuple, list)) and validation_data:
            validation_data = (
                _checked_if_array(validation_data[0], self.image_shape, "validation_data"),
                *validation_data[1:],
            )
        else:
            validation_data = _checked_if_array(
                validation_data, self.image_shape, "validation_data"
            )
        return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        x = _checked_if_array(x, self.image_shape, "x")
        return super().evaluate(x, y, *args, **kwargs)

    # -- inference ----------------------------------------------------------

    def encode(self, images):
        """`(z_mean, z_log_var)` of `q(z|x)`, each of shape `(N, latent_dim)`."""
        images = _checked_if_array(images, self.image_shape, "images")
        return self._posterior(ops.convert_to_tensor(images, "float32"))

    def decode(self, z):
        """Images (pixel probabilities in [0, 1]) for latent codes `z`."""
        z = ops.convert_to_tensor(z, "float32")
        if len(z.shape) != 2 or z.shape[-1] != self.latent_dim:
            raise ValueError(
                f"z must have shape (N, {self.latent_dim}); got {tuple(z.shape)}."
            )
        return self._probabilities(self.decoder(z, training=False))

    def sample(self, num_samples, seed=None):
        """Decodes `num_samples` codes drawn from the prior N(0, I).

        Args:
            num_samples: How many images to generate.
            seed: Optional integer seed; by default the Sampler's generator.
        """
        z = keras.random.normal(
            (num_samples, self.latent_dim),
            seed=self.sampler.seed_generator if seed is None else seed,
        )
        return self.decode(z)

    def reconstruct(self, images, sample=False):
        """Decodes the posterior mean of each image (or a sample of z)."""
        z_mean, z_log_var = self.encode(images)
        z = self.sampler([z_mean, z_log_var]) if sample else z_mean
        return self.decode(z)

    # -- serialization ------------------------------------------------------

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "beta": self.beta,
            "decoder_output": self.decoder_output,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "decoder"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
