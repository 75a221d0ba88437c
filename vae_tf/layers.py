"""Layers of the VAE family."""

import keras
import tensorflow as tf
from keras import ops


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

    Args:
        seed: Optional integer seed of the layer's noise.

    Example:

    >>> sampler = Sampler(seed=1)
    >>> z = sampler([keras.ops.zeros((4, 2)), keras.ops.zeros((4, 2))])
    >>> tuple(z.shape)
    (4, 2)
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        replica = tf.distribute.get_replica_context()
        if replica is None or replica.num_replicas_in_sync == 1:
            eps = keras.random.normal(
                ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator
            )
        else:
            seed = tf.random.experimental.stateless_fold_in(
                self.seed_generator.next(), replica.replica_id_in_sync_group
            )
            eps = tf.random.stateless_normal(
                tf.shape(z_mean), seed=tf.cast(seed % (2**31 - 1), "int32"), dtype=z_mean.dtype
            )
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def save_own_variables(self, store):
        # The noise generator's position, saved with the weights so that a
        # resumed run draws the noise an uninterrupted run would have drawn.
        store["0"] = self.seed_generator.state

    def load_own_variables(self, store):
        if len(store):  # Files of earlier vae_tf versions hold no noise state.
            self.seed_generator.state.assign(store["0"])

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
