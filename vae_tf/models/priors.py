"""Priors p(z) over the latent space: one object that every consumer of the prior asks.

A prior answers three questions: `log_prob(z)` (the density, summed over the
latent dimensions), `sample(num_samples, seed)` (codes drawn from it) and,
when it has one, the closed-form `kl_per_dimension(z_mean, z_log_var)` of a
diagonal Gaussian posterior against it. The models' KL term, `sample`, the
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
```
"""

import keras
import tensorflow as tf

from vae_tf import losses
from vae_tf._checks import check_positive_int


class Prior(keras.layers.Layer):
    """Base class of the priors: `log_prob`, `sample`, and a closed-form KL where there is one.

    Args:
        latent_dim: Size of the latent code.
    """

    #: How figures and messages write the prior.
    notation = "p(z)"

    def __init__(self, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = check_positive_int("latent_dim", latent_dim)

    def log_prob(self, z):
        """`log p(z)` summed over the last axis (the latent dimensions), in nats."""
        raise NotImplementedError

    def sample(self, num_samples, seed):
        """`(num_samples, latent_dim)` codes drawn from the prior.

        Args:
            num_samples: How many codes (an integer or an int32 scalar tensor).
            seed: A `keras.random.SeedGenerator` (draws advance it), or an
                integer or int32 scalar tensor (stateless: the same seed gives
                the same codes, also inside a SavedModel's graph).
        """
        raise NotImplementedError

    def kl_per_dimension(self, z_mean, z_log_var):
        """`KL(N(z_mean, exp(z_log_var)) || p)` per latent dimension, `(batch, latent_dim)`.

        Only for priors with a closed form; the others raise NotImplementedError.
        """
        raise NotImplementedError(f"{type(self).__name__} has no closed-form KL.")

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
    >>> prior.kl_per_dimension([[0.0, 1.0]], [[0.0, 0.0]])   # [[0.0, 0.5]]
    """

    notation = "N(0, I)"

    def log_prob(self, z):
        return losses.standard_normal_log_density(z)

    def sample(self, num_samples, seed):
        if isinstance(seed, keras.random.SeedGenerator):
            return keras.random.normal((num_samples, self.latent_dim), seed=seed)
        return tf.random.stateless_normal(
            tf.stack([num_samples, self.latent_dim]), seed=_stateless_seed(seed)
        )

    def kl_per_dimension(self, z_mean, z_log_var):
        return losses.gaussian_kl_per_dimension(z_mean, z_log_var)
