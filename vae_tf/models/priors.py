"""Priors p(z) over the latent space: one object that every consumer of the prior asks.

- `StandardNormal`: N(0, I) (Kingma & Welling, 2014), with a closed-form KL.
- `MixtureOfGaussians`: K learned diagonal Gaussians with learned weights.
- `VampPrior`: the mixture of the encoder's posteriors at K learned
  pseudo-inputs (Tomczak & Welling, 2018).
- `make_prior(name, ...)` builds one by its name in `PRIORS`.

A prior answers three questions: `log_prob(z)` (the density, summed over the
latent dimensions), `sample(num_samples, seed)` (codes drawn from it) and
`kl(posterior)`: the closed-form KL of a posterior
(`vae_tf.models.posteriors`) against it per dimension where the pair has one,
else None (then the models estimate `log q(z|x) - log p(z)` from their draws). The models' KL term, `sample`, the
SavedModel's `sample` endpoint, the importance weights of the evaluation and
the figures all ask `model.prior`, so a new prior is one class here.

Priors are Keras layers, so that a prior with parameters (learned
pseudo-inputs, mixture components) has its weights saved, checkpointed and
restored with the model's.

Example:

```python
prior = StandardNormal(latent_dim=2)
z = prior.sample(16, seed=0)          # (16, 2), the same for the same seed
prior.log_prob(z)                     # (16,), nats

vae = vae_tf.VAE(encoder, decoder, prior="vamp", prior_components=500)
vae.prior.log_prob(z)                 # the VampPrior's density, through the encoder
```
"""

import math

import keras
import tensorflow as tf
from keras import ops

from vae_tf import losses
from vae_tf.models.posteriors import DiagonalGaussian
from vae_tf.utils.checks import Integer
from vae_tf.utils.checks import OneOf
from vae_tf.utils.checks import check_positive_int

# The checks of the settings, shared with the models and `vae_tf.TrainConfig`.
PRIOR_COMPONENTS = Integer(minimum=1)


class Prior(keras.layers.Layer):
    """Base class of the priors: `log_prob`, `sample`, and a closed-form KL where there is one.

    Args:
        latent_dim: Size of the latent code.
    """

    #: How figures and messages write the prior.
    notation = "p(z)"
    #: Whether `kl` has a closed form for a diagonal Gaussian posterior;
    #: without one, models use the Monte Carlo estimate
    #: `log q(z|x) - log p(z)` of their samples.
    closed_form_kl = False

    def __init__(self, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = check_positive_int("latent_dim", latent_dim)

    def log_prob(self, z):
        """`log p(z)` summed over the code's axes (the latent dimensions), in nats."""
        raise NotImplementedError

    def sample(self, num_samples, seed):
        """Codes drawn from the prior, `(num_samples, *code_shape)`.

        `(num_samples, latent_dim)` for flat codes; `(num_samples, h, w, c)`
        for maps (`StandardNormal` only).

        Args:
            num_samples: How many codes (an integer or an int32 scalar tensor).
            seed: A `keras.random.SeedGenerator` (draws advance it), or an
                integer or int32 scalar tensor (stateless: the same seed gives
                the same codes, also inside a SavedModel's graph).
        """
        raise NotImplementedError

    def kl(self, posterior):
        """`KL(q(z|x) || p(z))` per dimension, `(batch, *code_shape)`, where there is a closed form.

        `posterior` is a `vae_tf.models.posteriors.Posterior`. None when the
        pair has no closed form: the models then estimate
        `log q(z|x) - log p(z)` from their draws.
        """
        return None

    def attach(self, model):
        """Called by the model that owns the prior once its networks exist; a hook."""

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}


def _stateless_seed(seed):
    """The `(2,)` key of a stateless draw from an integer seed: `[seed, 0]`."""
    return tf.stack([tf.cast(seed, "int32"), 0])


@keras.saving.register_keras_serializable(package="vae_tf")
class StandardNormal(Prior):
    """The standard normal prior N(0, I) of Kingma & Welling (2014).

    Example:

    >>> prior = StandardNormal(2)
    >>> prior.kl(DiagonalGaussian([[0.0, 1.0]], [[0.0, 0.0]]))   # [[0.0, 0.5]]
    """

    notation = "N(0, I)"
    closed_form_kl = True

    def __init__(self, latent_dim, code_shape=None, **kwargs):
        super().__init__(latent_dim, **kwargs)
        self.code_shape = tuple(code_shape or (latent_dim,))
        if self.code_shape[-1] != latent_dim:
            raise ValueError(f"code_shape {self.code_shape} must end in latent_dim ({latent_dim}).")

    def log_prob(self, z):
        return losses.standard_normal_log_density(z, len(self.code_shape))

    def sample(self, num_samples, seed):
        if isinstance(seed, keras.random.SeedGenerator):
            return keras.random.normal((num_samples, *self.code_shape), seed=seed)
        return tf.random.stateless_normal(
            tf.stack([num_samples, *self.code_shape]), seed=_stateless_seed(seed)
        )

    def kl(self, posterior):
        if not isinstance(posterior, DiagonalGaussian):
            return None
        return losses.gaussian_kl_per_dimension(posterior.loc, posterior.log_var)

    def get_config(self):
        return {**super().get_config(), "code_shape": list(self.code_shape)}


def clip_to_unit(values):
    """`clip(values, 0, 1)`, the gradient passed where a value is unclipped (the bounds included).

    `ops.clip`'s, a minimum and a maximum, costs six kernels with its
    gradient; this one three (a clip, an equality, a select): on 500
    pseudo-images, 6% of a VampPrior step's operation time went to them.
    """
    # A tensor: a custom gradient of a variable itself would be the variable's.
    return _clip_to_unit(tf.convert_to_tensor(values))


@tf.custom_gradient
def _clip_to_unit(values):
    clipped = tf.raw_ops.ClipByValue(t=values, clip_value_min=0.0, clip_value_max=1.0)

    def gradient(upstream):
        return tf.where(tf.equal(clipped, values), upstream, 0.0)

    return clipped, gradient


def _stateless_draws(seed):
    """Two independent `(2,)` keys from one integer seed: `[seed, 0]` and `[seed, 1]`."""
    seed = tf.cast(seed, "int32")
    return tf.stack([seed, 0]), tf.stack([seed, 1])


def _sample_mixture(means, log_vars, logits, num_samples, seed):
    """Codes from a diagonal Gaussian mixture: a component by `logits`, then its Gaussian."""
    latent_dim = means.shape[-1]
    if isinstance(seed, keras.random.SeedGenerator):
        component = keras.random.categorical(logits[None], num_samples, seed=seed)[0]
        epsilon = keras.random.normal((num_samples, latent_dim), seed=seed)
    else:
        component_key, noise_key = _stateless_draws(seed)
        component = tf.random.stateless_categorical(logits[None], num_samples, seed=component_key)[
            0
        ]
        epsilon = tf.random.stateless_normal(tf.stack([num_samples, latent_dim]), seed=noise_key)
    mean = ops.take(means, component, axis=0)
    log_var = ops.take(log_vars, component, axis=0)
    return mean + ops.exp(0.5 * log_var) * epsilon


@keras.saving.register_keras_serializable(package="vae_tf")
class MixtureOfGaussians(Prior):
    """A mixture of K learned diagonal Gaussians with learned weights.

    Means start from N(0, I) draws, variances at 1 and weights equal, so that
    at initialization the prior is a spread-out cousin of N(0, I). The KL
    against it has no closed form: models estimate it from their samples.

    Args:
        latent_dim: Size of the latent code.
        components: K, the number of Gaussians.

    Example:

    >>> prior = MixtureOfGaussians(2, components=10)
    >>> prior.sample(5, seed=0).shape
    TensorShape([5, 2])
    """

    def __init__(self, latent_dim, components=500, **kwargs):
        super().__init__(latent_dim, **kwargs)
        self.components = PRIOR_COMPONENTS("prior_components", components)
        self.means = self.add_weight(
            shape=(components, self.latent_dim),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            name="means",
            dtype="float32",
        )
        self.log_vars = self.add_weight(
            shape=(components, self.latent_dim),
            initializer="zeros",
            name="log_vars",
            dtype="float32",
        )
        self.logits = self.add_weight(
            shape=(components,), initializer="zeros", name="logits", dtype="float32"
        )

    @property
    def notation(self):
        return f"MoG({self.components})"

    def log_prob(self, z):
        return losses.diagonal_mixture_log_density(
            z, self.means, self.log_vars, ops.log_softmax(self.logits)
        )

    def sample(self, num_samples, seed):
        return _sample_mixture(self.means, self.log_vars, self.logits, num_samples, seed)

    def get_config(self):
        return {**super().get_config(), "components": self.components}


@keras.saving.register_keras_serializable(package="vae_tf")
class VampPrior(Prior):
    """The VampPrior (Tomczak & Welling, 2018): `p(z) = 1/K sum_k q(z | u_k)`.

    The mixture, with equal weights, of the encoder's own posteriors at K
    learned pseudo-inputs `u_k`, images kept in [0, 1] by clipping (the
    paper's hardtanh) and started near black, at N(0.05, 0.01) per pixel as
    in the paper. The pseudo-inputs are weights of the prior, so `.keras`
    files, checkpoints and resumed runs keep them. Every density and every
    draw asks the encoder, so the prior follows it as it trains.

    The owning model `attach`es itself; the encoder must take images alone
    (a conditional model's posterior needs a label, which pseudo-inputs
    have none of: use `MixtureOfGaussians` there).

    Args:
        latent_dim: Size of the latent code.
        image_shape: `(height, width, channels)` of the pseudo-inputs.
        components: K, the number of pseudo-inputs.

    Example:

    ```python
    vae = vae_tf.VAE(encoder, decoder, prior="vamp", prior_components=500)
    vae.prior.pseudo_images()          # (500, 28, 28, 1), in [0, 1]
    ```
    """

    def __init__(self, latent_dim, image_shape, components=500, **kwargs):
        super().__init__(latent_dim, **kwargs)
        self.components = PRIOR_COMPONENTS("prior_components", components)
        self.image_shape = tuple(int(size) for size in image_shape)
        self.pseudo_inputs = self.add_weight(
            shape=(components, *self.image_shape),
            initializer=keras.initializers.RandomNormal(mean=0.05, stddev=0.01),
            name="pseudo_inputs",
            dtype="float32",
        )
        self._posterior = None

    @property
    def notation(self):
        return f"VampPrior({self.components})"

    def attach(self, model):
        if model.conditional:
            raise ValueError(
                "prior='vamp' needs an unconditional model: its components are the "
                "encoder's posteriors at pseudo-inputs, which have no label. Use "
                "prior='mog' for a conditional VAE."
            )
        # A function, not the model: the prior must not track the model's layers.
        self._posterior = lambda images: model.posterior(images)

    def pseudo_images(self):
        """The pseudo-inputs as images, `(components, H, W, C)` in [0, 1]."""
        return clip_to_unit(self.pseudo_inputs)

    def components_posterior(self):
        """`(means, log_vars)` of the K mixture components, `(components, latent_dim)` each."""
        if self._posterior is None:
            raise ValueError(
                "This VampPrior belongs to no model yet: its components are the "
                "posteriors of a model's encoder (VAE(..., prior='vamp') attaches it)."
            )
        posterior = self._posterior(self.pseudo_images())
        log_vars = posterior.log_variance()
        if log_vars is None:
            raise ValueError(
                f"The VampPrior needs a Gaussian posterior; {type(posterior).__name__} has no "
                "variance."
            )
        return ops.cast(posterior.mean(), "float32"), ops.cast(log_vars, "float32")

    def log_prob(self, z):
        means, log_vars = self.components_posterior()
        log_weights = ops.full((self.components,), -math.log(self.components))
        return losses.diagonal_mixture_log_density(z, means, log_vars, log_weights)

    def sample(self, num_samples, seed):
        means, log_vars = self.components_posterior()
        return _sample_mixture(means, log_vars, ops.zeros((self.components,)), num_samples, seed)

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "components": self.components,
        }


# The priors a model builds by name.
_BY_NAME = {"normal": StandardNormal, "mog": MixtureOfGaussians, "vamp": VampPrior}
PRIORS = tuple(_BY_NAME)
PRIOR = OneOf(PRIORS)


def make_prior(name, latent_dim, image_shape, components=500, code_shape=None):
    """The prior called `name` in `PRIORS` ("normal", "mog" or "vamp"), in float32.

    `components` is K of the mixtures; the standard normal ignores it.
    `code_shape`: of codes that are not flat, `(h, w, c)`: the standard
    normal only.
    """
    PRIOR("prior", name)
    if name == "normal":
        return StandardNormal(latent_dim, code_shape, name="prior", dtype="float32")
    if code_shape is not None and len(code_shape) != 1:
        raise ValueError(
            f"prior={name!r} is a mixture over flat codes, but this model's codes have shape "
            f"{tuple(code_shape)}: use prior='normal'."
        )
    arguments = {"mog": (components,), "vamp": (image_shape, components)}[name]
    return _BY_NAME[name](latent_dim, *arguments, name="prior", dtype="float32")


def prior_config(prior):
    """How a model's config names `prior`: its name in `PRIORS`, or the serialized layer."""
    name = next((key for key, kind in _BY_NAME.items() if type(prior) is kind), None)
    return name or keras.saving.serialize_keras_object(prior)
