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

The first training call places the codes on vectors of the batch, spread
over it (a sample of the data, as k-means starts), each with a count of 1.
After that, a code whose moving count falls below `dead_threshold` (fewer
vectors than that a step, on average) is a dead code: it is moved onto an
encoder vector of the batch, those farthest from their nearest code first
(the vectors the codebook serves worst), and its count (and sum) restart
from that one vector. The codebook cannot collapse onto a few codes. No
randomness: every replica of a strategy makes the same choice.

The updates happen in `call(..., training=True)`, as a `BatchNormalization`
layer updates its moving statistics. Under a `tf.distribute` strategy the
statistics are those of the GLOBAL batch (`vae_tf.models.objective.gather_batch`),
so every replica makes the same update, and two replicas train as one
device would.

Example:

```python
quantizer = VectorQuantizer(codebook_size=512, code_dim=16)
indices, z_q = quantizer(z_e, training=True)   # (batch, h, w) int32, (batch, h, w, 16)
images = decoder(quantizer.lookup(indices))    # later: the codes of stored indices
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
CODE_DIM = Integer(minimum=1)
DECAY = Number(low=0.0, high=1.0, high_open=True)
THRESHOLD = Number(low=0.0)
# Below one assigned vector a step on average, a code is restarted (Dhariwal
# et al.'s Jukebox uses the same threshold for its random restarts).
DEAD_THRESHOLD = 1.0
# The Laplace smoothing of the moving counts (Sonnet's VectorQuantizerEMA).
EPSILON = 1e-5


@keras.saving.register_keras_serializable(package="vae_tf")
class VectorQuantizer(keras.layers.Layer):
    """A codebook: the nearest codes of encoder vectors, lookups, and its EMA or loss updates.

    Args:
        codebook_size: K, the number of codes (>= 2).
        code_dim: D, the size of each code (the encoder map's channels).
        codebook_update: `"ema"` or `"loss"` (module docstring).
        decay: Of the moving averages, in [0, 1).
        dead_threshold: The moving count below which a code is restarted
            on an encoder vector (0: never).

    Called on an encoder map `(batch, ..., code_dim)`, it returns
    `(indices, codes)`: the nearest codes' indices `(batch, ...)`, int32, and
    the codes themselves `(batch, ..., code_dim)`, float32, as the codebook
    was before this call's update. With `training=True` it then learns from
    the batch: the moving statistics, the codes (EMA), the restarts.

    Example:

    >>> quantizer = VectorQuantizer(8, 2)
    >>> indices, codes = quantizer(keras.ops.ones((3, 7, 7, 2)))
    >>> tuple(indices.shape), tuple(codes.shape)
    ((3, 7, 7), (3, 7, 7, 2))
    """

    def __init__(
        self,
        codebook_size,
        code_dim,
        codebook_update="ema",
        decay=0.99,
        dead_threshold=DEAD_THRESHOLD,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.codebook_size = CODEBOOK_SIZE("codebook_size", codebook_size)
        self.code_dim = CODE_DIM("code_dim", code_dim)
        self.codebook_update = CODEBOOK_UPDATE("codebook_update", codebook_update)
        self.decay = DECAY("decay", decay)
        self.dead_threshold = THRESHOLD("dead_threshold", dead_threshold)
        shape = (self.codebook_size, self.code_dim)
        # The paper's initialization, until the first training call places the
        # codes on the data.
        limit = 1.0 / self.codebook_size
        self.codebook = self.add_weight(
            shape=shape,
            initializer=keras.initializers.RandomUniform(-limit, limit),
            trainable=self.codebook_update == "loss",
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
        # The moving sums of the vectors of each code: the EMA's codes are sums / counts.
        self.sums = None
        if self.codebook_update == "ema":
            self.sums = self.add_weight(
                shape=shape, initializer="zeros", trainable=False, autocast=False, name="sums"
            )
        self.placed = self.add_weight(
            shape=(), initializer="zeros", trainable=False, autocast=False, name="placed"
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
        codes = self.lookup(indices)  # read before the update below
        if training:
            self._learn(vectors, indices)
        return ops.reshape(indices, shape[:-1]), ops.reshape(codes, (*shape[:-1], self.code_dim))

    def _learn(self, vectors, indices):
        """The global batch's statistics: the first placement, or the moving averages and restarts."""
        vectors = ops.stop_gradient(vectors)
        everyone, _ = gather_batch(
            ops.concatenate([vectors, ops.cast(indices, "float32")[:, None]], axis=1)
        )
        # The gather forgets the static width.
        everyone = ops.reshape(everyone, (-1, self.code_dim + 1))
        vectors, indices = everyone[:, :-1], ops.cast(everyone[:, -1], "int32")
        count = ops.shape(vectors)[0]
        # The first call: codes on vectors spread over the batch, each counted once.
        spread = ops.take(
            vectors, (ops.arange(self.codebook_size) * count) // self.codebook_size, 0
        )
        assigned = ops.one_hot(indices, self.codebook_size)  # (N, K)
        counts = self.decay * self.counts + (1.0 - self.decay) * ops.sum(assigned, axis=0)
        codebook = ops.convert_to_tensor(self.codebook)
        sums = None
        if self.sums is not None:
            sums = self.decay * self.sums + (1.0 - self.decay) * ops.matmul(
                ops.transpose(assigned), vectors
            )
            total = ops.sum(counts)
            smoothed = (counts + EPSILON) / (total + self.codebook_size * EPSILON) * total
            codebook = sums / smoothed[:, None]
        codebook, counts, sums = self._restart_dead(vectors, codebook, counts, sums)
        placed = ops.equal(self.placed, 1.0)
        self.codebook.assign(ops.where(placed, codebook, spread))
        self.counts.assign(ops.where(placed, counts, ops.ones_like(counts)))
        if sums is not None:
            self.sums.assign(ops.where(placed, sums, spread))
        self.placed.assign(1.0)

    def _restart_dead(self, vectors, codebook, counts, sums):
        """Moves each dead code onto a vector, the worst-served first; the rest unchanged.

        In `"loss"` mode a restarted code keeps its optimizer's moments.
        """
        dead = counts < self.dead_threshold  # (K,)
        # The vectors farthest from their nearest code, K of them at most
        # (cycled when the batch holds fewer): the i-th dead code takes the i-th.
        order = ops.argsort(-ops.min(self.distances(vectors), axis=1))
        rank = ops.maximum(ops.cumsum(ops.cast(dead, "int32")) - 1, 0)
        chosen = ops.take(vectors, ops.take(order, ops.mod(rank, ops.shape(vectors)[0])), axis=0)
        dead_rows = dead[:, None]
        return (
            ops.where(dead_rows, chosen, codebook),
            ops.where(dead, ops.ones_like(counts), counts),
            None if sums is None else ops.where(dead_rows, chosen, sums),
        )

    def compute_output_spec(self, inputs, training=False):
        shape = tuple(inputs.shape)
        return (
            keras.KerasTensor(shape[:-1], dtype="int32"),
            keras.KerasTensor(shape, dtype="float32"),
        )

    def get_config(self):
        return {
            **super().get_config(),
            "codebook_size": self.codebook_size,
            "code_dim": self.code_dim,
            "codebook_update": self.codebook_update,
            "decay": self.decay,
            "dead_threshold": self.dead_threshold,
        }
