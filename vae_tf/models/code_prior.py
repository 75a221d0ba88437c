"""A gated PixelCNN prior over a VQ-VAE's code indices (van den Oord et al., 2016 and 2017).

A VQ-VAE's codes are maps of codebook indices, `(h, w)` per image. Its
prior, `CodePixelCNN`, is autoregressive over them in raster order:

    log p(c) = sum_i log p(c_i | c_<i)       (a categorical of K codes each)

computed in one pass of a PixelCNN: an embedding of each index, a 7x7 gated
masked convolution of type A (a position never sees its own index), then
`layers - 1` residual 3x3 gated masked convolutions of type B, and a 1x1
convolution to the K logits of each position. The gated masked layers are
`vae_tf.models.pixelcnn`'s, shared with the PixelCNN decoder; for a
conditional model each is conditioned on the class (its one-hot label at
every position), as in the conditional gated PixelCNN.

The logits' convolution starts at zero: an untrained prior is the uniform
distribution over the codes, `log p(c) = -h w log K`, and samples drawn from
it are uniform random codes. A VQ-VAE's training does not touch the prior
(no term of its objective depends on it); `vae_tf.runs` trains it on the
indices of the training images afterwards (`--prior_epochs`), with
`prior_loss`, the same per-map cross-entropy that `log_prob` gives.

Drawing is position by position (`vae_tf.models.pixelcnn.run_in_raster_order`),
with a progress bar when eager.

Example:

```python
prior = CodePixelCNN(codebook_size=64, code_shape=(7, 7))
indices = prior.sample(16, seed=0)          # (16, 7, 7) int32
prior.log_prob(indices)                     # (16,): -49 log 64 while untrained
```
"""

import math

import keras
import tensorflow as tf
from keras import layers
from keras import ops

from vae_tf.models.pixelcnn import ConditionedGatedMaskedConv
from vae_tf.models.pixelcnn import run_in_raster_order
from vae_tf.models.priors import Prior
from vae_tf.models.quantizer import CODEBOOK_SIZE
from vae_tf.utils.checks import Integer

PRIOR_LAYERS = Integer(minimum=1)
PRIOR_FILTERS = Integer(minimum=1)
DEFAULT_PRIOR_LAYERS = 4
DEFAULT_PRIOR_FILTERS = 64
# Maps drawn at once by an eager `sample`: larger counts go in blocks.
SAMPLE_BLOCK = 1000


def build_code_pixelcnn(codebook_size, code_shape, num_classes=None, layers_count=4, filters=64):
    """The network `[indices (h, w) int32, (one-hot label)] -> logits (h, w, K)`, float32.

    Example: `build_code_pixelcnn(64, (7, 7)).output.shape` is `(None, 7, 7, 64)`.
    """
    height, width = code_shape
    indices = keras.Input((height, width), dtype="int32", name="indices")
    x = layers.Embedding(codebook_size, filters, name="embedding")(indices)
    if num_classes is None:
        inputs = indices
        # One constant map: the gated layers' condition adds a learned bias.
        condition = ops.ones_like(x[..., :1])
    else:
        label = keras.Input((num_classes,), name="label")
        inputs = [indices, label]
        maps = layers.RepeatVector(height * width)(label)
        condition = layers.Reshape((height, width, num_classes), name="label_maps")(maps)
    x = ConditionedGatedMaskedConv(filters, 7, "A", name="gated_masked_0")(x, condition)
    for index in range(1, layers_count):
        x = ConditionedGatedMaskedConv(
            filters, 3, "B", residual=True, name=f"gated_masked_{index}"
        )(x, condition)
    logits = layers.Conv2D(
        codebook_size, 1, kernel_initializer="zeros", name="logits", dtype="float32"
    )(layers.Activation("relu")(x))
    return keras.Model(inputs, logits, name="code_pixelcnn")


def _draw_range(prior, inputs, state, first, last):
    """Draws the codes at positions `first .. last - 1`, one pass of the network each."""
    key, condition = inputs
    (codes,) = state
    height, width = prior.code_shape
    positions = tf.reshape(tf.range(height * width), (1, height, width))

    def step(index, codes):
        logits = prior.logits(codes, condition)[:, index // width, index % width]
        seed = tf.random.experimental.stateless_fold_in(key, index)
        drawn = tf.random.stateless_categorical(logits, 1, seed=seed, dtype="int32")
        here = tf.equal(positions, index)
        return index + 1, tf.where(here, drawn[:, :, None], codes)

    _, codes = tf.while_loop(lambda index, _: index < last, step, (first, codes))
    return (codes,)


@keras.saving.register_keras_serializable(package="vae_tf")
class CodePixelCNN(Prior):
    """`p(c) = prod_i p(c_i | c_<i)` over maps of code indices `(h, w)`: a gated PixelCNN.

    Args:
        codebook_size: K, the number of codes.
        code_shape: `(h, w)`, the map of indices of one image.
        num_classes: Conditions every position on the class, or None.
        layers: Gated masked layers: one 7x7 of type A, then 3x3 residual ones.
        filters: Channels of each layer (and of the indices' embedding).

    `log_prob(indices, condition=None)` and `sample(num_samples, seed,
    condition=None)` take the one-hot labels of a conditional prior
    (`LatentVariableModel.condition`).

    Example:

    >>> prior = CodePixelCNN(8, (3, 3))
    >>> float(prior.log_prob(keras.ops.zeros((1, 3, 3), "int32"))[0])   # -9 log 8
    -18.71...
    """

    notation = "PixelCNN(c)"

    def __init__(
        self,
        codebook_size,
        code_shape,
        num_classes=None,
        layers=DEFAULT_PRIOR_LAYERS,
        filters=DEFAULT_PRIOR_FILTERS,
        **kwargs,
    ):
        code_shape = tuple(int(size) for size in code_shape)
        if len(code_shape) != 2:
            raise ValueError(f"code_shape must be (h, w), a map of indices; got {code_shape}.")
        super().__init__(code_shape[-1], **kwargs)
        self.codebook_size = CODEBOOK_SIZE("codebook_size", codebook_size)
        self.code_shape = code_shape
        self.num_classes = num_classes
        self.layers_count = PRIOR_LAYERS("prior_layers", layers)
        self.filters = PRIOR_FILTERS("prior_filters", filters)
        self.network = build_code_pixelcnn(
            self.codebook_size, code_shape, num_classes, self.layers_count, self.filters
        )
        self.built = True

    def _inputs(self, indices, condition):
        if (condition is None) != (self.num_classes is None):
            raise ValueError(
                "This code prior is conditional: give it the one-hot labels."
                if condition is None
                else "This code prior is not conditional: give it no labels."
            )
        indices = ops.cast(indices, "int32")
        return indices if condition is None else [indices, condition]

    def logits(self, indices, condition=None, training=False):
        """The logits `(batch, h, w, K)` of each position's code given the codes before it."""
        return self.network(self._inputs(indices, condition), training=training)

    def log_prob(self, z, condition=None):
        """`log p(indices)`, `(batch,)` in nats: the sum over positions of each code's log-probability."""
        logits = self.logits(z, condition)
        per_position = -keras.losses.sparse_categorical_crossentropy(
            ops.cast(z, "int32"), logits, from_logits=True
        )
        return ops.sum(ops.reshape(per_position, (ops.shape(per_position)[0], -1)), axis=1)

    def uniform_log_prob(self):
        """`-h w log K`: `log_prob` of every map under the untrained (uniform) prior."""
        return -math.prod(self.code_shape) * math.log(self.codebook_size)

    def sample(self, num_samples, seed, condition=None, progress="auto"):
        """Maps of indices `(num_samples, h, w)` int32, drawn position by position.

        `seed`: an integer or int32 scalar (the same seed draws the same
        maps), or a `keras.random.SeedGenerator` (draws advance it).
        `condition`: the one-hot labels `(num_samples, num_classes)` of a
        conditional prior. Eagerly, more than `SAMPLE_BLOCK` maps are drawn
        in blocks of that many, block b with the key `(seed, b)`: the first
        block's maps are those of the same seed in a graph (a SavedModel).
        """
        if isinstance(seed, keras.random.SeedGenerator):
            seed = keras.random.randint((), 0, 2**31 - 1, seed=seed)
        if condition is not None:
            condition = tf.cast(condition, "float32")
        if tf.executing_eagerly() and int(num_samples) > SAMPLE_BLOCK:
            # In blocks, each its own key: 10,000 maps at once would hold
            # gigabytes of activations (the logits alone, 10,000 x h x w x K).
            blocks = []
            for number, start in enumerate(range(0, int(num_samples), SAMPLE_BLOCK)):
                count = min(SAMPLE_BLOCK, int(num_samples) - start)
                part = None if condition is None else condition[start : start + count]
                blocks.append(self._draw(count, seed, number, part, progress))
            return tf.concat(blocks, axis=0)
        return self._draw(num_samples, seed, 0, condition, progress)

    def _draw(self, num_samples, seed, block, condition, progress):
        key = tf.stack([tf.cast(seed, "int32"), block])
        codes = tf.zeros(tf.stack([num_samples, *self.code_shape]), "int32")
        (codes,) = run_in_raster_order(
            self, _draw_range, (key, condition), (codes,), *self.code_shape, progress
        )
        return codes

    def get_config(self):
        config = super().get_config()
        del config["latent_dim"]  # the code's width, from code_shape
        return {
            **config,
            "codebook_size": self.codebook_size,
            "code_shape": list(self.code_shape),
            "num_classes": self.num_classes,
            "layers": self.layers_count,
            "filters": self.filters,
        }
