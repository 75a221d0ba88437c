"""Layers of the VAE family."""

import keras
import tensorflow as tf
from keras import ops

from vae_tf.models.posteriors import reparameterize


@keras.saving.register_keras_serializable(package="vae_tf")
class Sampler(keras.layers.Layer):
    """Draws `z ~ N(z_mean, exp(z_log_var))` with the reparameterization trick.

    `z = z_mean + exp(0.5 * z_log_var) * eps` with `eps ~ N(0, I)`, so gradients
    flow to `z_mean` and `z_log_var`. The noise comes from a
    `keras.random.SeedGenerator` owned by the layer: a seeded Sampler draws the
    same sequence of noise every time it is rebuilt, without global state. The
    noise is drawn in the dtype of `z_mean`, so the layer works under
    mixed precision. Under a `tf.distribute` strategy with several replicas,
    each replica folds its id into the seed, so replicas draw independent
    noise (with one shared seed they would all draw the same).

    Called as `sampler(z_mean, z_log_var)` (the design documents' style) or
    `sampler([z_mean, z_log_var])` (the keras.io example's); with
    `num_samples=K`, it draws K codes per row: `(batch, K, latent_dim)`.

    Args:
        seed: Optional integer seed of the layer's noise.

    Example:

    >>> sampler = Sampler(seed=1)
    >>> z = sampler(keras.ops.zeros((4, 2)), keras.ops.zeros((4, 2)))
    >>> tuple(z.shape), tuple(sampler(z, z, num_samples=5).shape)
    ((4, 2), (4, 5, 2))
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def normal(self, shape, dtype="float32"):
        """Standard normal noise of `shape` from the layer's generator.

        Independent on every replica of a strategy.
        """
        replica = tf.distribute.get_replica_context()
        if replica is None or replica.num_replicas_in_sync == 1:
            return keras.random.normal(shape, dtype=dtype, seed=self.seed_generator)
        seed = tf.random.experimental.stateless_fold_in(
            self.seed_generator.next(), replica.replica_id_in_sync_group
        )
        return tf.random.stateless_normal(
            tf.stack(shape), seed=tf.cast(seed % (2**31 - 1), "int32"), dtype=dtype
        )

    def noise(self, z_mean, num_samples=None):
        """Standard normal noise shaped like `z_mean`, or `(batch, num_samples, latent_dim)`.

        In `z_mean`'s dtype.
        """
        shape = ops.shape(z_mean)
        if num_samples is not None:
            shape = (shape[0], num_samples, *shape[1:])
        return self.normal(shape, z_mean.dtype)

    def call(self, z_mean, z_log_var=None, num_samples=None):
        if z_log_var is None:
            z_mean, z_log_var = _mean_and_log_variance(z_mean)
        return reparameterize(z_mean, z_log_var, self.noise(z_mean, num_samples))

    def compute_output_spec(self, z_mean, z_log_var=None, num_samples=None):
        if z_log_var is None:
            z_mean, _ = _mean_and_log_variance(z_mean)
        shape = tuple(z_mean.shape)
        if num_samples is not None:
            shape = (shape[0], num_samples, *shape[1:])
        return keras.KerasTensor(shape, dtype=z_mean.dtype)

    def save_own_variables(self, store):
        # The noise generator's position, saved with the weights so that a
        # resumed run draws the noise an uninterrupted run would have drawn.
        store["0"] = self.seed_generator.state

    def load_own_variables(self, store):
        if len(store):  # Files of earlier vae_tf versions hold no noise state.
            self.seed_generator.state.assign(store["0"])

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def _mean_and_log_variance(inputs):
    if isinstance(inputs, (list, tuple)) and len(inputs) == 2:
        return inputs
    raise ValueError(
        "Sampler takes z_mean and z_log_var: call it as sampler(z_mean, z_log_var) "
        f"or sampler([z_mean, z_log_var]); got one input of type {type(inputs).__name__}."
    )
