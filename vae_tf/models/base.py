"""What every model of the family shares: input checks, the likelihood, the ONE training step.

`LatentVariableModel` holds an encoder, a decoder, a likelihood `p(x|z)`, a
prior over the codes (`vae_tf.models.priors`), the seeded noise source and
the metrics. Its `train_step` and `test_step` (`vae_tf.models.step.OneStep`,
a mixin as Keras' `Trainer` is one of `keras.Model`) serve every variant: a
variant (the `VAE`, the `Autoencoder`, ...) supplies `posterior` (the
encoder's reading of an image, a `vae_tf.models.posteriors.Posterior`) and
`loss_terms` (its named per-example terms, `vae_tf.models.objective.LossTerm`),
never a copy of the step. Each term named in `loss_term_names` is logged as
`<name>_loss`.

Example (a variant):

```python
class MyModel(VAE):
    loss_term_names = ("reconstruction", "kl", "penalty")

    def loss_terms(self, images, condition=None, training=False):
        terms = super().loss_terms(images, condition, training)
        penalty = ...                                    # (batch,), nats
        return {**terms, "penalty": LossTerm(penalty, weight=0.1, in_total=False)}
```
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from vae_tf import losses
from vae_tf.data import check_images
from vae_tf.data import check_labels
from vae_tf.models.layers import Sampler
from vae_tf.models.objective import LossTerm
from vae_tf.models.priors import PRIOR_COMPONENTS
from vae_tf.models.priors import Prior
from vae_tf.models.priors import make_prior
from vae_tf.models.priors import prior_config
from vae_tf.models.step import OneStep
from vae_tf.utils.checks import Number
from vae_tf.utils.checks import OneOf
from vae_tf.utils.checks import check_positive_int

DECODER_OUTPUTS = ("auto", "logits", "probabilities")
LIKELIHOODS = ("bernoulli", "gaussian", "gaussian_learned", "mse")
# A learned sigma is kept above exp(-6) ~ 0.0025, as in the sigma-VAE (Rybkin et
# al., 2021): below that the density of a pixel the decoder gets exactly right
# grows without bound.
MIN_LOG_SIGMA = -6.0
# The checks of the settings, shared with `vae_tf.TrainConfig`.
SIGMA = Number(low=0.0, low_open=True)
LIKELIHOOD = OneOf(LIKELIHOODS)


def _ends_in_sigmoid(decoder):
    activation = getattr(decoder.layers[-1], "activation", None)
    return getattr(activation, "__name__", None) == "sigmoid"


def _is_concrete(value):
    return isinstance(value, (np.ndarray, list, tuple, int, np.integer))


def _checked_if_array(images, image_shape, name):
    """Validates concrete (numpy or list) images; tensors and datasets pass."""
    if isinstance(images, (np.ndarray, list)):
        return check_images(images, image_shape, name=name)
    return images


class LatentVariableModel(OneStep, keras.Model):
    """Base class of the family: networks, likelihood, prior, metrics and the one step.

    Subclasses implement `posterior(images, condition, training)` (a
    `Posterior`) and, unless the ELBO of one draw is their objective,
    `loss_terms`; they set `loss_term_names` (the terms logged, in order)
    and `free_bits` (the KL floor of the objective in nats per latent
    dimension; 0 for none). A term may read `dataset_size` (the number of
    training examples, when known: `fit` on arrays and `vae_tf.train` set
    it) and `vae_tf.models.objective.global_batch_size`.

    Args:
        encoder, decoder: Built functional models (see
            `vae_tf.build_encoder_decoder`); the decoder gives Bernoulli logits
            or, when its last layer ends in a sigmoid, probabilities.
        likelihood: `p(x|z)`, one of `LIKELIHOODS` (see `VAE`).
        sigma: Standard deviation of the Gaussian likelihoods (> 0).
        decoder_output: `"logits"`, `"probabilities"` or `"auto"`.
        seed: Optional integer seed of the noise.
        num_classes: Makes the model conditional on integer labels.
        prior: `p(z)`, by name (`vae_tf.models.priors.PRIORS`: `"normal"`,
            `"mog"`, `"vamp"`) or a `vae_tf.models.Prior` of the latent size.
        prior_components: K of the mixture priors.
        dataset_size: The number of training examples, for terms that need
            it (see `dataset_size`); saved with the model.
    """

    #: The named terms of `loss_terms`, each logged as `<name>_loss`.
    loss_term_names = ("reconstruction", "kl")
    #: Named per-example quantities of `loss_terms` that are not losses (a
    #: discriminator's accuracy, a schedule's value), each logged as `<name>`;
    #: their `LossTerm`s are neither optimized nor in the total.
    statistic_names = ()
    free_bits = 0.0
    #: The name of the optimized bound when it is not the ELBO (the history's
    #: `loss`), else None.
    bound_name = None

    def __init__(
        self,
        encoder,
        decoder,
        likelihood="bernoulli",
        sigma=0.1,
        decoder_output="auto",
        seed=None,
        num_classes=None,
        prior="normal",
        prior_components=500,
        dataset_size=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._check_networks(encoder, decoder, num_classes)
        OneOf(DECODER_OUTPUTS)("decoder_output", decoder_output)
        LIKELIHOOD("likelihood", likelihood)
        sigma = SIGMA("sigma", sigma)
        if decoder_output == "auto":
            decoder_output = "probabilities" if _ends_in_sigmoid(decoder) else "logits"
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.sigma = sigma
        self.decoder_output = decoder_output
        self.seed = seed
        self.num_classes = num_classes
        self.sampler = Sampler(seed=seed, name="sampler")
        self.prior_components = PRIOR_COMPONENTS("prior_components", prior_components)
        self.prior = self._make_prior(prior, prior_components)
        # Both make their state in __init__. Marked built, so that Keras never
        # builds the model by calling it on a batch's images alone: a
        # conditional model also needs the labels (a loaded one failed to fit
        # under MirroredStrategy).
        self.sampler.built = self.prior.built = True
        # A variable, so that schedules change it without retracing the step.
        self.kl_weight = self.add_weight(
            shape=(), initializer="ones", trainable=False, dtype="float32", name="kl_weight"
        )
        # Set by a KL schedule while it trains the model several steps per call.
        self.kl_weight_feed = None
        self.log_sigma = None
        if likelihood == "gaussian_learned":
            self.log_sigma = self.add_weight(
                shape=(),
                initializer=keras.initializers.Constant(np.log(sigma)),
                dtype="float32",
                name="log_sigma",
            )
        self.dataset_size = dataset_size
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.term_trackers = {
            name: keras.metrics.Mean(name=f"{name}_loss") for name in self.loss_term_names
        }
        self.statistic_trackers = {
            name: keras.metrics.Mean(name=name) for name in self.statistic_names
        }
        self.kl_weight_tracker = keras.metrics.Mean(name="kl_weight")
        # Built from the start: BackupAndRestore, ExportArchive and
        # model.export refuse an unbuilt subclassed model.
        self.build((None, *self.image_shape))

    def _check_networks(self, encoder, decoder, num_classes):
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
        self._check_encoder_outputs(encoder)
        code_shape = self._decoder_code_shape(encoder)
        if tuple(decoder.inputs[0].shape[1:]) != code_shape:
            size = code_shape[0] if len(code_shape) == 1 else code_shape
            raise ValueError(
                f"The decoder takes codes of shape {decoder.inputs[0].shape[1:]}, "
                f"but the encoder gives latent codes of size {size}."
            )
        if tuple(decoder.outputs[0].shape[1:]) != tuple(encoder.inputs[0].shape[1:]):
            raise ValueError(
                f"The decoder outputs images of shape {decoder.outputs[0].shape[1:]}"
                f" but the encoder takes {encoder.inputs[0].shape[1:]}."
            )

    @classmethod
    def _check_encoder_outputs(cls, encoder):
        raise NotImplementedError

    def _decoder_code_shape(self, encoder):
        """The shape of what the decoder network takes: the encoder's first output's here."""
        return tuple(encoder.outputs[0].shape[1:])

    def _make_prior(self, prior, components):
        if isinstance(prior, Prior):
            prior_shape = tuple(getattr(prior, "code_shape", (prior.latent_dim,)))
            if prior_shape != self.code_shape:
                raise ValueError(
                    f"The prior is over codes of shape {prior_shape}, but the encoder gives "
                    f"codes of shape {self.code_shape}: build the prior for that shape (a "
                    "StandardNormal takes code_shape=; the mixtures take flat codes only)."
                )
        else:
            prior = make_prior(
                prior, self.latent_dim, self.image_shape, components, self.code_shape
            )
        prior.attach(self)
        return prior

    @property
    def code_dtype(self):
        """The dtype of the codes `decode` takes: "float32" (a VQ-VAE's indices: "int32")."""
        return "float32"

    @property
    def discrete_codes(self):
        """Whether the codes are codebook indices (a VQ-VAE's), not points of a latent space."""
        return self.code_dtype != "float32"

    @property
    def latent_dim(self):
        """Size of the latent code z (its last axis)."""
        return self.code_shape[-1]

    @property
    def code_shape(self):
        """The shape of one image's code, what `decode` takes: `(latent_dim,)` or `(h, w, c)`."""
        return tuple(self.encoder.outputs[0].shape[1:])

    @property
    def dataset_size(self):
        """The number of training examples, for terms that weigh a batch by it; None if unknown.

        Setting it retraces the training step.
        """
        # Keras reads the model's properties while it is being built.
        return getattr(self, "_dataset_size", None)

    @dataset_size.setter
    def dataset_size(self, value):
        value = None if value is None else check_positive_int("dataset_size", int(value))
        if value != getattr(self, "_dataset_size", None):
            self._dataset_size = value
            self.train_function = self.test_function = None

    @property
    def kl_estimate(self):
        """How the KL term is computed: "closed form", "Monte Carlo", or None (no KL term).

        Asked of the prior and of the posterior of one blank image.
        """
        images = ops.zeros((1, *self.image_shape))
        condition = None if not self.conditional else self.condition([0])
        posterior = self.posterior(images, condition)
        if self.prior.kl(posterior) is not None:
            return "closed form"
        return "Monte Carlo" if posterior.has_density else None

    @property
    def image_shape(self):
        """`(height, width, channels)` of the images."""
        return tuple(self.encoder.inputs[0].shape[1:])

    @property
    def networks(self):
        """The model's networks by name: encoder and decoder, and a variant's own."""
        return {"encoder": self.encoder, "decoder": self.decoder}

    def auxiliary_networks(self):
        """`{name: (network, optimizer)}`: networks trained apart, by their own optimizer.

        Such as FactorVAE's discriminator. The one training step trains each
        on the terms of `loss_terms` whose `trains` is its name, over all its
        weights, in the same step and from the same forward pass as the
        model. The variant freezes it (`network.trainable = False`), so that
        the model's optimizer neither holds nor updates its weights: give it
        no layer with state that is not trained (batch normalization). The
        optimizer is an attribute of the model, built on the network's
        weights in `__init__`, so that saving, loading and resuming the model
        carry its state, each under its own attribute's name. A method, not a
        property: Keras' saver walks the dicts of properties, and would store
        them under the property's name instead. None here.
        """
        return {}

    @property
    def served_layers(self):
        """The layers besides `networks` that inference uses (the SavedModel tracks them).

        The prior and the noise source; a variant adds its own (a flow).
        """
        return [self.prior, self.sampler]

    @property
    def conditional_prior(self):
        """Whether the prior's codes depend on the labels (`prior_codes` uses them)."""
        return False

    @property
    def conditional(self):
        """Whether the model takes labels (`num_classes` was given)."""
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
            *self.term_trackers.values(),
            *self.statistic_trackers.values(),
            self.kl_weight_tracker,
        ]

    # -- what variants supply ------------------------------------------------

    def posterior(self, images, condition=None, training=False):
        """`q(z|x)` of a batch, a `vae_tf.models.posteriors.Posterior`.

        `condition` is the one-hot label of `condition(labels)`, or None.
        """
        raise NotImplementedError

    def loss_terms(self, images, condition=None, training=False):
        """The named per-example terms of the objective, `{name: LossTerm}`, in nats.

        Here, the ELBO of one reparameterized draw of z per image
        (`one_draw_terms`).
        """
        posterior = self.posterior(images, condition, training=training)
        return self.one_draw_terms(images, posterior, condition, training)

    def one_draw_terms(self, images, posterior, condition=None, training=False, kl=None, draw=None):
        """The ELBO's terms of one reparameterized draw of z per image from `posterior`.

        The reconstruction, and the KL term: `kl` if given, else the prior's
        closed form per dimension (`Prior.kl`), else the Monte Carlo estimate
        `log q(z|x) - log p(z)` of the draw; weighted by `kl_weight` and
        floored by `free_bits`. `draw`: the `(z, log q(z|x))` of
        `posterior.sample_and_log_prob()` when the caller uses the draw too
        (a penalty on the codes); by default drawn here.
        """
        z, log_q = posterior.sample_and_log_prob() if draw is None else draw
        kl = self.prior.kl(posterior) if kl is None else kl
        if kl is None:
            kl = (log_q - self.prior.log_prob(posterior.code(z)))[:, None]
        reconstruction = self.code_reconstruction_nll(
            images, posterior.code(z), condition, training
        )
        return self.elbo_terms(reconstruction, kl)

    def elbo_terms(self, reconstruction, kl_per_dimension, optimized=True):
        """The ELBO's two named terms: `reconstruction` `(batch,)` and `kl` `(batch, columns)`."""
        return {
            "reconstruction": LossTerm(reconstruction, optimized=optimized),
            "kl": LossTerm(
                kl_per_dimension, weight=self.kl_weight, optimized=optimized, floor=self.free_bits
            ),
        }

    # -- forward passes -----------------------------------------------------

    def _missing_labels(self):
        raise ValueError(
            f"This conditional VAE needs labels: integer classes in [0, "
            f"{self.num_classes - 1}], one per image (e.g. fit(images, labels))."
        )

    def condition(self, labels, num_images=None):
        """The networks' one-hot float32 labels; None for a model without labels.

        Concrete labels (numpy, lists, one integer for all `num_images`) are
        checked first.
        """
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

    def network_inputs(self, x, condition):
        """The inputs of either network: `x`, or `[x, condition]` when conditional."""
        return x if condition is None else [x, condition]

    def raw_decode(self, z, condition=None, training=False):
        """The decoder's own output for codes `z`: logits or probabilities (`decoder_output`).

        The input of `reconstruction_nll`.
        """
        return self.decoder(self.network_inputs(z, condition), training=training)

    def code_reconstruction_nll(self, images, code, condition=None, training=False):
        """`-log p(x|z)` per example, `(batch,)`, of one code per image (what the decoder takes).

        Example: `model.code_reconstruction_nll(images, model.encode(images)[0])`.
        """
        return self.reconstruction_nll(images, self.raw_decode(code, condition, training=training))

    def codes_reconstruction_nll(self, images, codes, condition=None, training=False):
        """`-log p(x|z_k)` of K codes per image, `(batch, K)`: all decoded in one call.

        `codes`: `(batch, K, *code)`, what the decoder network takes.
        """
        batch, num_samples = ops.shape(codes)[0], ops.shape(codes)[1]
        flat = ops.reshape(codes, (batch * num_samples, *codes.shape[2:]))
        repeated = ops.repeat(images, num_samples, axis=0)
        if condition is not None:
            condition = ops.repeat(condition, num_samples, axis=0)
        raw = self.decoder(self.network_inputs(flat, condition), training=training)
        return ops.reshape(self.reconstruction_nll(repeated, raw), (batch, num_samples))

    def probabilities(self, raw):
        """Pixel probabilities (Bernoulli) or means (Gaussian) in [0, 1] from `raw_decode`."""
        raw = ops.cast(raw, "float32")
        if self.decoder_output == "logits":
            return ops.sigmoid(raw)
        return raw

    @property
    def stochastic_layers(self):
        """Layers of latent variables (1; 2 for `HierarchicalVAE`)."""
        return 1

    @property
    def stochastic_decoding(self):
        """Whether `decode` draws its images (with a seed), as an autoregressive decoder does."""
        return False

    def decoded_probabilities(self, decoder_output, images=None, seed=None):
        """Images in [0, 1] from `raw_decode`'s output: its probabilities (or means) here.

        A variant whose `p(x|z)` is autoregressive draws the pixels instead
        (with `seed`, an integer; None is 0), or, given `images`, gives each
        pixel's probability given the images' pixels before it.
        """
        return self.probabilities(decoder_output)

    def reconstruction_nll(self, images, decoder_output):
        """`-log p(x|z)` per example, shape `(batch,)`, from the decoder's raw output.

        In nats for the Bernoulli and Gaussian likelihoods; the sum of squared
        errors for `"mse"`.
        """
        if self.likelihood == "bernoulli":
            if self.decoder_output == "logits":
                return losses.bernoulli_nll(images, decoder_output)
            return losses.bernoulli_nll_from_probabilities(images, decoder_output)
        mean = self.probabilities(decoder_output)
        if self.likelihood == "mse":
            return losses.squared_error(images, mean)
        if self.log_sigma is None:
            return losses.gaussian_nll(images, mean, np.log(self.sigma))
        return losses.gaussian_nll(images, mean, ops.maximum(self.log_sigma, MIN_LOG_SIGMA))

    def call(self, inputs, training=False):
        """Reconstruction probabilities; z is sampled only when training.

        `inputs` is images, or `(images, labels)` for a conditional model.
        """
        images, labels = inputs if self.conditional else (inputs, None)
        condition = self.condition(labels)
        posterior = self.posterior(images, condition, training=training)
        z = posterior.code(posterior.sample()) if training else posterior.mean()
        return self.decoded_probabilities(self.raw_decode(z, condition, training=training), images)

    def per_example_losses(self, images, labels=None, training=False):
        """`{name: (batch,)}`: each named term of `loss_terms` per example, in nats.

        One Monte Carlo sample of z per image: the sum of the ELBO's terms
        (`reconstruction` and `kl`) is an unbiased estimate of the
        per-example negative ELBO. `labels` only for a conditional model.
        """
        images = ops.convert_to_tensor(_checked_if_array(images, self.image_shape, "images"))
        terms = self.loss_terms(images, self.condition(labels, images.shape[0]), training)
        return {name: term.per_example() for name, term in terms.items()}

    def check_inputs(self, x, y=None, name="x"):
        """Validates concrete images (and, when conditional, labels); returns `(x, y)`.

        Tensors and datasets pass unchecked; numpy images are checked for
        shape and range, labels for range and count.
        """
        x = _checked_if_array(x, self.image_shape, name)
        if self.conditional and _is_concrete(y) and isinstance(x, np.ndarray):
            y = check_labels(y, self.num_classes, len(x), name=f"labels of {name}")
        elif self.conditional and y is None and isinstance(x, np.ndarray):
            self._missing_labels()
        return x, y

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        x, y = self.check_inputs(x, y, "x")
        if isinstance(x, np.ndarray) and self.dataset_size is None:
            self.dataset_size = len(x)
        if isinstance(validation_data, (tuple, list)) and validation_data:
            x_val, *rest = validation_data
            y_val, rest = (rest[0], rest[1:]) if rest else (None, [])
            x_val, y_val = self.check_inputs(x_val, y_val, "validation_data")
            validation_data = (x_val,) if y_val is None else (x_val, y_val, *rest)
        else:
            validation_data = _checked_if_array(
                validation_data, self.image_shape, "validation_data"
            )
        try:
            return super().fit(x, y, *args, validation_data=validation_data, **kwargs)
        finally:
            if self.kl_weight_feed is not None:
                # A KL schedule's feed serves its own fit only, however that ends:
                # a later fit trains at the weight the model holds.
                self.kl_weight_feed = None
                self.train_function = None

    def evaluate(self, x=None, y=None, *args, **kwargs):
        x, y = self.check_inputs(x, y, "x")
        return super().evaluate(x, y, *args, **kwargs)

    # -- inference ----------------------------------------------------------

    def encode(self, images, labels=None):
        """`(code, log-variance)` of `q(z|x)`: `posterior(...).mean()` and its spread.

        Each `(N, *code_shape)`: `(z_mean, z_log_var)` for a Gaussian
        posterior, `(z, None)` for an `Autoencoder`. `labels`: the images'
        classes, for a conditional model only.
        """
        posterior = self.encode_posterior(images, labels)
        return posterior.mean(), posterior.log_variance()

    def encode_posterior(self, images, labels=None):
        """`posterior` of concrete images (checked) and labels, for inference."""
        images = _checked_if_array(images, self.image_shape, "images")
        images = ops.convert_to_tensor(images, "float32")
        return self.posterior(images, self.condition(labels, images.shape[0]))

    def decode(self, z, labels=None, seed=None):
        """Images (pixel probabilities in [0, 1]) for latent codes `z`, `(N, *code_shape)`.

        `labels`: the class to draw for each code (or one class for all), for
        a conditional model only. `seed`: of the pixels' draws of an
        autoregressive decoder (`decoded_probabilities`); others ignore it.
        """
        z = ops.convert_to_tensor(z, "float32")
        if tuple(z.shape[1:]) != self.code_shape or len(z.shape) != 1 + len(self.code_shape):
            raise ValueError(
                f"z must have shape (N, {', '.join(map(str, self.code_shape))}); "
                f"got {tuple(z.shape)}."
            )
        if tf.executing_eagerly() and not bool(ops.all(ops.isfinite(z))):
            raise ValueError("z holds NaN or infinite values; decode finite latent codes.")
        condition = self.condition(labels, z.shape[0])
        return self.decoded_probabilities(self.raw_decode(z, condition), seed=seed)

    def sample(self, num_samples, seed=None, labels=None):
        """Decodes `num_samples` codes drawn from the prior (`model.prior`, N(0, I) by default).

        Args:
            num_samples: How many images to generate.
            seed: Optional integer seed; by default the Sampler's generator.
            labels: For a conditional model, the class of each image, or one
                class for all.
        """
        check_positive_int("num_samples", num_samples)
        z = self.prior_codes(
            num_samples, self.sampler.seed_generator if seed is None else seed, labels
        )
        if seed is None and self.stochastic_decoding:
            # From the Sampler's generator too: each call draws other pixels.
            seed = keras.random.randint((), 0, 2**31 - 1, seed=self.sampler.seed_generator)
        return self.decode(z, labels, seed=seed)

    def code_vectors(self, codes):
        """The codes as numbers to compare or plot: float32 codes themselves (a VQ-VAE's: its code vectors)."""
        return ops.cast(codes, "float32")

    def prior_codes(self, num_samples, seed, labels=None):
        """`(num_samples, *code_shape)` codes drawn from the prior: those `sample` decodes.

        `seed`: an integer or int32 scalar (stateless), or a
        `keras.random.SeedGenerator`. `labels`: the classes a conditional
        prior draws for (a VQ-VAE's); the others draw the same codes for
        any class.
        """
        return self.prior.sample(num_samples, seed)

    def reconstruct(self, images, labels=None, sample=False):
        """Decodes the posterior mean of each image (or a sample of z)."""
        posterior = self.encode_posterior(images, labels)
        z = posterior.code(posterior.sample()) if sample else posterior.mean()
        return self.decode(z, labels)

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
            "likelihood": self.likelihood,
            "sigma": self.sigma,
            "decoder_output": self.decoder_output,
            "seed": self.seed,
            "num_classes": self.num_classes,
            "prior": prior_config(self.prior),
            "prior_components": self.prior_components,
            "dataset_size": self.dataset_size,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "decoder"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        if isinstance(config.get("prior"), dict):
            config["prior"] = keras.saving.deserialize_keras_object(config["prior"])
        return cls(**config)
