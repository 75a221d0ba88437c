"""The vector quantizer of a VQ-VAE (van den Oord et al., 2017): a codebook, nearest codes, EMA.

`VectorQuantizer` holds a codebook of `codebook_size` vectors of
`code_dim` numbers. It maps each vector of an encoder's output map to the
index of its nearest code (squared Euclidean distance) and looks codes up
by index. Two ways to learn the codebook (`update`):

- `"ema"` (the default; the paper's Appendix A.1): the codebook is not
  trained by the optimizer; each training call moves every code to the
  exponential moving average (`decay`, 0.99) of the encoder vectors assigned
  to it, `e_i = m_i / N_i`, with `N_i` the moving count of those vectors
  (Laplace-smoothed, so that a rare code does not divide by ~0) and `m_i`
  the moving sum;
- `"loss"`: the codebook is a trainable weight, pulled towards the encoder
  vectors by the model's codebook loss `||sg(z_e) - e||^2`; the moving
  counts are still kept, to find the unused codes.

Either way, a code whose moving count falls below `dead_threshold` (fewer
vectors than that a step, on average) is a dead code: at each training call
it is moved onto an encoder vector of the batch, those farthest from their
nearest code first (the vectors the codebook serves worst), and its count
and sum restart from that one vector. The codebook cannot collapse onto a
few codes. At the first step every code is dead, and the codes start on
the batch's first vectors: a sample of the data. No randomness, so every
replica of a strategy makes the same choice.

The updates happen in `call(..., training=True)`, as a `BatchNormalization`
layer updates its moving statistics. Under a `tf.distribute` strategy the
statistics are those of the GLOBAL batch (`vae_tf.models.objective.gather_batch`),
so every replica makes the same update, and two replicas train as one
device would.

Example:

```python
quantizer = VectorQuantizer(codebook_size=512, code_dim=16)
indices = quantizer(z_e, training=True)        # (batch, h, w) int32; updates the EMA
z_q = quantizer.lookup(indices)                # (batch, h, w, 16), the codes
```
"""

import keras
from keras import ops

from vae_tf.models.objective import gather_batch
from vae_tf.utils.checks import Integer
from vae_tf.utils.checks import Number
from vae_tf.utils.checks import OneOf

CODEBOOK_UPDATES = ("ema", "loss")
CODEBOOK_SIZE = Integer(minimum=2)
CODEBOOK_UPDATE = OneOf(CODEBOOK_UPDATES)
DECAY = Number(low=0.0, high=1.0, high_open=True)
# Below one assigned vector a step on average, a code is restarted (Dhariwal
# et al.'s Jukebox uses the same threshold for its random restarts).
DEAD_THRESHOLD = 1.0
# The Laplace smoothing of the moving counts (Sonnet's VectorQuantizerEMA).
EPSILON = 1e-5


@keras.saving.register_keras_serializable(package="vae_tf")
class VectorQuantizer(keras.layers.Layer):
    """A codebook: nearest codes of encoder vectors, lookups, and its EMA or loss updates.

    Args:
        codebook_size: K, the number of codes (>= 2).
        code_dim: D, the size of each code (the encoder map's channels).
        update: `"ema"` or `"loss"` (module docstring).
        decay: Of the moving averages, in [0, 1).
        dead_threshold: The moving count below which a code is restarted
            on an encoder vector (0: never).

    Called on an encoder map `(batch, ..., code_dim)`, it returns the
    indices `(batch, ...)`, int32; with `training=True`, it also updates
    the moving statistics and restarts dead codes.
    """

    def __init__(
        self,
        codebook_size,
        code_dim,
        update="ema",
        decay=0.99,
        dead_threshold=DEAD_THRESHOLD,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.codebook_size = CODEBOOK_SIZE("codebook_size", codebook_size)
        self.code_dim = Integer(minimum=1)("code_dim", code_dim)
        self.update = CODEBOOK_UPDATE("codebook_update", update)
        self.decay = DECAY("decay", decay)
        self.dead_threshold = Number(low=0.0)("dead_threshold", dead_threshold)
        shape = (self.codebook_size, self.code_dim)
        # The paper's initialization; at the first training step every code
        # restarts on a vector of the data anyway (its count is 0).
        limit = 1.0 / self.codebook_size
        self.codebook = self.add_weight(
            shape=shape,
            initializer=keras.initializers.RandomUniform(-limit, limit),
            trainable=self.update == "loss",
            autocast=False,
            name="codebook",
        )
        self.counts = self.add_weight(
            shape=(self.codebook_size,),
            initializer="zeros",
            trainable=False,
            autocast=False,
            name="counts",
        )
        self.sums = self.add_weight(
            shape=shape, initializer="zeros", trainable=False, autocast=False, name="sums"
        )
        self.built = True

    def distances(self, vectors):
        """Squared distances `(N, K)` of vectors `(N, code_dim)` to every code, in float32.

        Expanded, `|v|^2 - 2 v.e + |e|^2`, a matrix product: the nearest code
        is the same as the differences' (ties aside), at a fraction of the
        memory.
        """
        vectors = ops.cast(vectors, "float32")
        codebook = ops.convert_to_tensor(self.codebook)
        return (
            ops.sum(ops.square(vectors), axis=1, keepdims=True)
            - 2.0 * ops.matmul(vectors, ops.transpose(codebook))
            + ops.sum(ops.square(codebook), axis=1)[None]
        )

    def nearest(self, vectors):
        """The index `(N,)` of the nearest code to each vector `(N, code_dim)`, int32."""
        return ops.cast(ops.argmin(self.distances(vectors), axis=1), "int32")

    def lookup(self, indices):
        """The codes of `indices` (int, any shape): `(*indices.shape, code_dim)`, float32."""
        return ops.take(ops.convert_to_tensor(self.codebook), ops.cast(indices, "int32"), axis=0)

    def call(self, inputs, training=False):
        if inputs.shape[-1] != self.code_dim:
            raise ValueError(
                f"The quantizer's codes have {self.code_dim} numbers; the encoder gives vectors "
                f"of {inputs.shape[-1]}. Build the encoder with code_dim={self.code_dim}."
            )
        shape = ops.shape(inputs)
        vectors = ops.reshape(ops.cast(inputs, "float32"), (-1, self.code_dim))
        indices = self.nearest(vectors)
        if training:
            self._update(vectors, indices)
        return ops.reshape(indices, shape[:-1])

    def _update(self, vectors, indices):
        """The moving counts (and sums, codes) of the global batch's vectors; dead codes restart."""
        vectors = ops.stop_gradient(vectors)
        everyone, _ = gather_batch(
            ops.concatenate([vectors, ops.cast(indices, "float32")[:, None]], 1)
        )
        # The gather forgets the static width.
        everyone = ops.reshape(everyone, (-1, self.code_dim + 1))
        vectors, indices = everyone[:, :-1], ops.cast(everyone[:, -1], "int32")
        assigned = ops.one_hot(indices, self.codebook_size)  # (N, K)
        decay = self.decay
        counts = decay * self.counts + (1.0 - decay) * ops.sum(assigned, axis=0)
        sums = decay * self.sums + (1.0 - decay) * ops.matmul(ops.transpose(assigned), vectors)
        codebook = ops.convert_to_tensor(self.codebook)
        if self.update == "ema":
            total = ops.sum(counts)
            smoothed = (counts + EPSILON) / (total + self.codebook_size * EPSILON) * total
            codebook = sums / smoothed[:, None]
        codebook, counts, sums = self._restart_dead(vectors, codebook, counts, sums)
        self.counts.assign(counts)
        self.sums.assign(sums)
        self.codebook.assign(codebook)

    def _restart_dead(self, vectors, codebook, counts, sums):
        """Moves each dead code onto a vector, the worst-served first; the rest unchanged."""
        dead = counts < self.dead_threshold  # (K,)
        # The vectors farthest from their nearest code, K of them at most
        # (cycled when the batch holds fewer): the i-th dead code takes the i-th.
        farthest = ops.min(self.distances(vectors), axis=1)
        count = ops.shape(vectors)[0]
        # At the first step all codes are dead: they take the batch's vectors
        # in its (shuffled) order, a sample of the data, not its outliers.
        first = ops.all(ops.equal(self.counts, 0.0))
        order = ops.where(first, ops.arange(count), ops.argsort(-farthest))
        rank = ops.cast(ops.cumsum(ops.cast(dead, "int32")) - 1, "int32")
        chosen = ops.take(vectors, ops.take(order, ops.mod(ops.maximum(rank, 0), count)), axis=0)
        dead_column = dead[:, None]
        return (
            ops.where(dead_column, chosen, codebook),
            ops.where(dead, ops.ones_like(counts), counts),
            ops.where(dead_column, chosen, sums),
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1])

    def get_config(self):
        return {
            **super().get_config(),
            "codebook_size": self.codebook_size,
            "code_dim": self.code_dim,
            "update": self.update,
            "decay": self.decay,
            "dead_threshold": self.dead_threshold,
        }
