"""The `VAE` model: a Keras model with its own training and evaluation steps."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from vae_tf import losses
from vae_tf._checks import check_positive_int
from vae_tf.data import check_images
from vae_tf.data import check_labels
from vae_tf.layers import Sampler

DECODER_OUTPUTS = ("auto", "logits", "probabilities")
LIKELIHOODS = ("bernoulli", "gaussian", "gaussian_learned", "mse")
# A learned sigma is kept above exp(-6) ~ 0.0025, as in the sigma-VAE (Rybkin et
# al., 2021): below that the density of a pixel the decoder gets exactly right
# grows without bound.
MIN_LOG_SIGMA = -6.0


def _ends_in_sigmoid(decoder):
    activation = getattr(decoder.layers[-1], "activation", None)
    return getattr(activation, "__name__", None) == "sigmoid"


def _non_negative(name, value):
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value}.")
    return value


def _is_concrete(value):
    return isinstance(value, (np.ndarray, list, tuple, int, np.integer))


def _logs(logs):
    """A step's logs, shaped so that Keras can reduce them under any strategy.

    Keras 3 (up to 3.15 at least) reduces the logs of a multi-worker step
    with `strategy.reduce("MEAN", value, axis=0)`, which fails on scalars
    (tensorflow/tensorflow#72388); the synchronized metric results of shape
    (1,) reduce to the same scalar.
    """
    strategy = tf.distribute.get_strategy()
    if not (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    ):
        return logs
    return {name: ops.reshape(value, (1,)) for name, value in logs.items()}


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
    trick; the decoder maps `z` to `p(x|z)`, a per-pixel Bernoulli by default.
    Training minimizes, per example and averaged over the batch (in nats),
    `reconstruction + kl_weight * KL`, where reconstruction is `-log p(x|z)`
    summed over pixels and KL is `KL(q(z|x) || N(0, I))` summed over latent
    dimensions. `kl_weight` is a variable, equal to `beta` unless a callback
    of `vae_tf.callbacks` (KL warm-up, cyclical annealing) drives it; the
    compiled step reads it, so changing it never retraces.

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

    # The Autoencoder subclass sets this to False: z is the encoder's output.
    variational = True

    def __init__(
        self, encoder, decoder, beta=1.0, likelihood="bernoulli", sigma=0.1, free_bits=0.0,
        z_log_var_clip=None, decoder_output="auto", seed=None, num_classes=None, **kwargs,
    ):
        super().__init__(**kwargs)
        self._check_networks(encoder, decoder, num_classes)
        if decoder_output not in DECODER_OUTPUTS:
            raise ValueError(
                f"decoder_output must be one of {DECODER_OUTPUTS}; got "
                f"{decoder_output!r}."
            )
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}; got {likelihood!r}.")
        free_bits = _non_negative("free_bits", free_bits)
        sigma = float(sigma)
        if not (np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be a finite number > 0; got {sigma}.")
        if z_log_var_clip is not None:
            z_log_var_clip = float(z_log_var_clip)
            if not (np.isfinite(z_log_var_clip) and z_log_var_clip > 0):
                raise ValueError(
                    f"z_log_var_clip must be None (off) or a number > 0; got {z_log_var_clip}."
                )
        if decoder_output == "auto":
            decoder_output = "probabilities" if _ends_in_sigmoid(decoder) else "logits"
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.sigma = sigma
        self.free_bits = free_bits
        self.z_log_var_clip = z_log_var_clip
        self.decoder_output = decoder_output
        self.seed = seed
        self.num_classes = num_classes
        self.sampler = Sampler(seed=seed, name="sampler")
        # A variable, so that schedules change it without retracing the step.
        self.kl_weight = self.add_weight(
            shape=(), initializer="ones", trainable=False, dtype="float32", name="kl_weight"
        )
        self.beta = beta
        self.log_sigma = None
        if likelihood == "gaussian_learned":
            self.log_sigma = self.add_weight(
                shape=(), initializer=keras.initializers.Constant(np.log(sigma)),
                dtype="float32", name="log_sigma",
            )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        self.kl_weight_tracker = keras.metrics.Mean(name="kl_weight")
        # Built from the start: BackupAndRestore, ExportArchive and
        # model.export refuse an unbuilt subclassed model.
        self.build((None, *self.image_shape))

    @classmethod
    def _check_networks(cls, encoder, decoder, num_classes):
        for name, network in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(network, keras.Model) or not network.built:
                raise ValueError(
                    f"{name} must be a built keras.Model (e.g. a functional "
                    f"model); got {type(network).__name__}."
                )
            expected = 1 if num_classes is None else 2
            if len(network.inputs) != expected:
                raise ValueError(
                    f"With num_classes={num_classes}, the {name} must take "
                    f"{expected} input(s) ({'[x, one_hot_label]' if num_classes else 'x'});"
                    f" it takes {len(network.inputs)}. Build both networks with the "
                    "same num_classes."
                )
            if num_classes is not None and network.inputs[1].shape[1:] != (num_classes,):
                raise ValueError(
                    f"The {name}'s label input has shape {network.inputs[1].shape[1:]}; "
                    f"expected ({num_classes},), a one-hot label."
                )
        if cls.variational and len(encoder.outputs) not in (2, 3):
            raise ValueError(
                "The encoder must output [z_mean, z_log_var] (optionally a "
                f"third output z); it has {len(encoder.outputs)} outputs."
            )
        if not cls.variational and len(encoder.outputs) != 1:
            raise ValueError(
                "An Autoencoder's encoder must output the code z alone (build it with "
                f"variational=False); it has {len(encoder.outputs)} outputs."
            )
        latent_dim = encoder.outputs[0].shape[-1]
        if tuple(decoder.inputs[0].shape[1:]) != (latent_dim,):
            raise ValueError(
                f"The decoder takes codes of shape {decoder.inputs[0].shape[1:]}, "
                f"but the encoder gives latent codes of size {latent_dim}."
            )
        if tuple(decoder.outputs[0].shape[1:]) != tuple(encoder.inputs[0].shape[1:]):
            raise ValueError(
                f"The decoder outputs images of shape {decoder.outputs[0].shape[1:]}"
                f" but the encoder takes {encoder.inputs[0].shape[1:]}."
            )

    @property
    def beta(self):
        """Weight of the KL term; setting it also sets `kl_weight` (a schedule's target)."""
        return self._beta

    @beta.setter
    def beta(self, value):
        self._beta = _non_negative("beta", value)
        self.kl_weight.assign(self._beta)

    @property
    def latent_dim(self):
        """Size of the latent code z."""
        return self.encoder.outputs[0].shape[-1]

    @property
    def image_shape(self):
        """`(height, width, channels)` of the images."""
        return tuple(self.encoder.inputs[0].shape[1:])

    @property
    def conditional(self):
        """Whether the VAE takes labels (`num_classes` was given)."""
        return self.num_classes is not None

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
            self.kl_weight_tracker,
        ]

    # -- forward passes -----------------------------------------------------

    def _missing_labels(self):
        raise ValueError(
            f"This conditional VAE needs labels: integer classes in [0, "
            f"{self.num_classes - 1}], one per image (e.g. fit(images, labels))."
        )

    def _condition(self, labels, num_images=None):
        """One-hot float32 labels for the networks; None for a plain VAE."""
        if not self.conditional:
            if labels is not None:
                raise ValueError(
                    "This VAE is not conditional (num_classes=None): call it without labels."
                )
            return None
        if labels is None:
            self._missing_labels()
        if _is_concrete(labels):
            if np.ndim(labels) == 0 and num_images is not None:
                labels = np.full((num_images,), labels)
            labels = check_labels(labels, self.num_classes, num_images)
        return ops.one_hot(ops.cast(labels, "int32"), self.num_classes)

    def _network_inputs(self, x, condition):
        return x if condition is None else [x, condition]

    def _posterior(self, images, condition=None, training=False):
        """`(z_mean, z_log_var)`; `(z, None)` for a deterministic autoencoder."""
        outputs = self.encoder(self._network_inputs(images, condition), training=training)
        if not self.variational:
            return (outputs[0] if isinstance(outputs, (list, tuple)) else outputs), None
        z_mean, z_log_var = outputs[0], outputs[1]
        if self.z_log_var_clip is not None:
            z_log_var = ops.clip(z_log_var, -self.z_log_var_clip, self.z_log_var_clip)
        return z_mean, z_log_var

    def _code(self, z_mean, z_log_var, sample):
        """A sample of z (reparameterized) or the posterior mean."""
        if sample and z_log_var is not None:
            return self.sampler([z_mean, z_log_var])
        return z_mean

    def _decode_output(self, z, condition=None, training=False):
        return self.decoder(self._network_inputs(z, condition), training=training)

    def _probabilities(self, decoder_output):
        decoder_output = ops.cast(decoder_output, "float32")
        if self.decoder_output == "logits":
            return ops.sigmoid(decoder_output)
        return decoder_output

    def reconstruction_nll(self, images, decoder_output):
        """`-log p(x|z)` per example, shape `(batch,)`, from the decoder's raw output.

        In nats for the Bernoulli and Gaussian likelihoods; the sum of squared
        errors for `"mse"`.
        """
        if self.likelihood == "bernoulli":
            if self.decoder_output == "logits":
                return losses.bernoulli_nll(images, decoder_output)
            return losses.bernoulli_nll_from_probabilities(images, decoder_output)
        mean = self._probabilities(decoder_output)
        if self.likelihood == "mse":
            return losses.squared_error(images, mean)
        if self.log_sigma is None:
            return losses.gaussian_nll(images, mean, np.log(self.sigma))
        return losses.gaussian_nll(images, mean, ops.maximum(self.log_sigma, MIN_LOG_SIGMA))

    def call(self, inputs, training=False):
        """Reconstruction probabilities; z is sampled only when training.

        `inputs` is images, or `(images, labels)` for a conditional VAE.
        """
        images, labels = inputs if self.conditional else (inputs, None)
        condition = self._condition(labels)
        z_mean, z_log_var = self._posterior(images, condition, training=training)
        z = self._code(z_mean, z_log_var, sample=training)
        return self._probabilities(self._decode_output(z, condition, training=training))

    def _loss_terms(self, images, labels, training):
        """Reconstruction `(batch,)` and KL per dimension `(batch, latent_dim)`."""
        condition = self._condition(labels)
        z_mean, z_log_var = self._posterior(images, condition, training=training)
        z = self._code(z_mean, z_log_var, sample=True)
        reconstruction = self.reconstruction_nll(
            images, self._decode_output(z, condition, training=training)
        )
        if z_log_var is None:
            return reconstruction, ops.zeros_like(ops.cast(z_mean, "float32"))
        return reconstruction, losses.gaussian_kl_per_dimension(z_mean, z_log_var)

    def per_example_losses(self, images, labels=None, training=False):
        """`(reconstruction, kl)`, each of shape `(batch,)`, in nats.

        One Monte Carlo sample of z per image: their sum is an unbiased
        estimate of the per-example negative ELBO. `labels` only for a
        conditional VAE.
        """
        reconstruction, kl_per_dimension = self._loss_terms(images, labels, training)
        return reconstruction, ops.sum(kl_per_dimension, axis=-1)

    # -- training -----------------------------------------------------------

    def _images_and_labels(self, data):
        """`(images, labels or None)` of a batch; labels only when conditional."""
        images, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError(
                "VAE does not support sample weights; pass images (and "
                "optionally labels) only."
            )
        return images, labels if self.conditional else None

    def _objective(self, reconstruction, kl_per_dimension):
        """`(objective, loss)`: the optimized objective of the batch and this replica's share.

        The objective is `mean(reconstruction) + kl_weight * kl_term`, with
        `kl_term = sum_j max(free_bits, mean_batch KL_j)` (without free bits,
        the batch mean of the summed KL). Under a strategy with several
        replicas the KL means are taken over the GLOBAL batch (all-reduced),
        and each replica's loss is its reconstructions summed and divided by
        the global batch size plus its `1 / replicas` share of the KL term:
        Keras sums the replicas' gradients, so the shares add up to the
        global objective exactly, also when replicas get unequal batches.
        The objective is then the global batch's, the same on every replica.
        On one device the loss is the objective.
        """
        replica = tf.distribute.get_replica_context()
        replicas = 1 if replica is None else replica.num_replicas_in_sync
        if replicas == 1:
            kl_term = ops.sum(ops.maximum(ops.mean(kl_per_dimension, axis=0), self.free_bits))
            objective = ops.mean(reconstruction) + self.kl_weight * kl_term
            return objective, objective
        batch = ops.cast(ops.shape(reconstruction)[0], "float32")
        global_batch, global_reconstruction = ops.unstack(
            replica.all_reduce("sum", ops.stack([batch, ops.sum(reconstruction)]))
        )
        kl_means = replica.all_reduce("sum", ops.sum(kl_per_dimension, axis=0)) / global_batch
        kl_term = ops.sum(ops.maximum(kl_means, self.free_bits))
        # The same global value on every replica, finite even on a replica
        # left without examples by a small last batch.
        objective = global_reconstruction / global_batch + self.kl_weight * kl_term
        loss = ops.sum(reconstruction) / global_batch + self.kl_weight * kl_term / replicas
        return objective, loss

    def _update_metrics(self, reconstruction, kl_per_dimension, objective):
        kl = ops.sum(kl_per_dimension, axis=-1)
        self.loss_tracker.update_state(objective, sample_weight=ops.shape(reconstruction)[0])
        self.total_loss_tracker.update_state(reconstruction + kl)
        self.reconstruction_loss_tracker.update_state(reconstruction)
        self.kl_loss_tracker.update_state(kl)
        trackers = (
            self.loss_tracker, self.total_loss_tracker, self.reconstruction_loss_tracker,
            self.kl_loss_tracker,
        )
        return {tracker.name: tracker.result() for tracker in trackers}

    def train_step(self, data):
        images, labels = self._images_and_labels(data)
        with tf.GradientTape() as tape:
            reconstruction, kl_per_dimension = self._loss_terms(images, labels, training=True)
            objective, loss = self._objective(reconstruction, kl_per_dimension)
            if self.losses:
                replicas = tf.distribute.get_strategy().num_replicas_in_sync
                loss = loss + ops.sum(self.losses) / replicas
            # Loss scaling for mixed_float16 (a no-op otherwise).
            scaled_loss = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled_loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        # The weight is a training setting: reported by training steps only.
        self.kl_weight_tracker.update_state(self.kl_weight)
        return _logs({
            **self._update_metrics(reconstruction, kl_per_dimension, objective),
            "kl_weight": self.kl_weight_tracker.result(),
        })

    def test_step(self, data):
        images, labels = self._images_and_labels(data)
        reconstruction, kl_per_dimension = self._loss_terms(images, labels, training=False)
        objective, _ = self._objective(reconstruction, kl_per_dimension)
        return _logs(self._update_metrics(reconstruction, kl_per_dimension, objective))

    def _checked_data(self, x, y, name):
        """Validates concrete images (and, when conditional, labels)."""
        x = _checked_if_array(x, self.image_shape, name)
        if self.conditional and _is_concrete(y) and isinstance(x, np.ndarray):
            y = check_labels(y, self.num_classes, len(x), name=f"labels of {name}")
        elif self.conditional and y is None and isinstance(x, np.ndarray):
            self._missing_labels()
        return x, y

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        x, y = self._checked_data(x, y, "x")
        if isinstance(validation_data, (tuple, list)) and validation_data:
            x_val, *rest = validation_data
            y_val, rest = (rest[0], rest[1:]) if rest else (None, [])
            x_val, y_val = self._checked_data(x_val, y_val, "validation_data")
            validation_data = (x_val,) if y_val is None else (x_val, y_val, *rest)
        else:
            validation_data = _checked_if_array(
                validation_data, self.image_shape, "validation_data"
            )
        return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        x, y = self._checked_data(x, y, "x")
        return super().evaluate(x, y, *args, **kwargs)

    # -- inference ----------------------------------------------------------

    def encode(self, images, labels=None):
        """`(z_mean, z_log_var)` of `q(z|x)`, each of shape `(N, latent_dim)`.

        `labels`: the images' classes, for a conditional VAE only. An
        `Autoencoder` returns `(z, None)`.
        """
        images = _checked_if_array(images, self.image_shape, "images")
        images = ops.convert_to_tensor(images, "float32")
        condition = self._condition(labels, images.shape[0])
        return self._posterior(images, condition)

    def decode(self, z, labels=None):
        """Images (pixel probabilities in [0, 1]) for latent codes `z`.

        `labels`: the class to draw for each code (or one class for all), for
        a conditional VAE only.
        """
        z = ops.convert_to_tensor(z, "float32")
        if len(z.shape) != 2 or z.shape[-1] != self.latent_dim:
            raise ValueError(
                f"z must have shape (N, {self.latent_dim}); got {tuple(z.shape)}."
            )
        if tf.executing_eagerly() and not bool(ops.all(ops.isfinite(z))):
            raise ValueError("z holds NaN or infinite values; decode finite latent codes.")
        condition = self._condition(labels, z.shape[0])
        return self._probabilities(self._decode_output(z, condition))

    def sample(self, num_samples, seed=None, labels=None):
        """Decodes `num_samples` codes drawn from the prior N(0, I).

        Args:
            num_samples: How many images to generate.
            seed: Optional integer seed; by default the Sampler's generator.
            labels: For a conditional VAE, the class of each image, or one
                class for all.
        """
        check_positive_int("num_samples", num_samples)
        z = keras.random.normal(
            (num_samples, self.latent_dim),
            seed=self.sampler.seed_generator if seed is None else seed,
        )
        return self.decode(z, labels)

    def reconstruct(self, images, labels=None, sample=False):
        """Decodes the posterior mean of each image (or a sample of z)."""
        z_mean, z_log_var = self.encode(images, labels)
        return self.decode(self._code(z_mean, z_log_var, sample), labels)

    # -- serialization ------------------------------------------------------

    def load_own_variables(self, store):
        # Models saved by vae_tf 0.1.0 hold no variables of their own (kl_weight
        # came later): they load with kl_weight = beta.
        if len(store.keys()) == 0:
            return
        super().load_own_variables(store)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "beta": self.beta,
            "likelihood": self.likelihood,
            "sigma": self.sigma,
            "free_bits": self.free_bits,
            "z_log_var_clip": self.z_log_var_clip,
            "decoder_output": self.decoder_output,
            "seed": self.seed,
            "num_classes": self.num_classes,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "decoder"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


@keras.saving.register_keras_serializable(package="vae_tf")
class Autoencoder(VAE):
    """A deterministic autoencoder with the VAE's networks, step and tools: the baseline.

    The encoder gives the code `z` itself (build it with
    `build_encoder(..., variational=False)`); there is no sampling and no KL
    term, so training minimizes the reconstruction alone. Nothing pulls the
    codes towards N(0, I): decoding prior samples (`sample`) shows what the
    VAE's KL term buys. `kl_loss` is reported as 0, and `encode` returns
    `(z, None)`.

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
        self, encoder, decoder, likelihood="bernoulli", sigma=0.1, decoder_output="auto",
        seed=None, num_classes=None, **kwargs,
    ):
        super().__init__(
            encoder, decoder, beta=0.0, likelihood=likelihood, sigma=sigma,
            decoder_output=decoder_output, seed=seed, num_classes=num_classes, **kwargs,
        )

    def get_config(self):
        config = super().get_config()
        for key in ("beta", "free_bits", "z_log_var_clip"):
            del config[key]
        return config
