"""An autoregressive decoder: a few gated masked convolutions on the decoder's output (PixelVAE).

With `--decoder=pixelcnn`, `p(x|z)` is no longer a product of independent
pixels: `p(x|z) = prod_i p(x_i | x_<i, z)` in raster order, each factor a
Bernoulli whose logit the PixelCNN head computes from the pixels before i,
the decoder's own logits and the code (Gulrajani et al., 2017, PixelVAE; van
den Oord et al., 2016, for the masked and gated convolutions):

- a 7x7 masked convolution of type A (a pixel never sees itself) on the
  image, then `layers - 1` 3x3 masked convolutions of type B (a feature sees
  its own pixel's features), each gated, `tanh(a) * sigmoid(b)`, with a
  residual connection, and each conditioned on the decoder's logits (a 1x1
  convolution), which carry z;
- the output is a 1x1 convolution added to the decoder's logits, so that an
  untrained head starts as the factorized decoder it refines.

Training and the likelihood need one pass (the true image's pixels are the
context: teacher forcing). Drawing an image needs one pass per pixel
(`draw_pixels`): decoding is slow, and stochastic (seeded).

The masked convolution layers serve any PixelCNN (a prior over discrete codes
too). Plain masked convolutions have a blind spot: pixels of the rows above
to the right, within reach, that no path through the masks sees (with three
layers, the pixel at (8, 6) does not see (7, 10) nor (6, 11)); the decoder's
logits, which carry z, inform every pixel, but not of the pixels drawn there.
The gated PixelCNN's two stacks (van den Oord et al., 2016) remove it; not
here.

Example:

```python
head = build_pixelcnn(image_shape=(28, 28, 1), layers_count=3, filters=16)
logits = head([images, decoder_logits])           # teacher forcing, one pass
probabilities, bits = draw_pixels(head, decoder_logits, seed=0)   # one pass a pixel
```
"""

import weakref

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from keras import ops

from vae_tf.utils.checks import Integer
from vae_tf.utils.checks import check_positive_int
from vae_tf.utils.progress import interactive
from vae_tf.utils.progress import progress_bar

DECODERS = ("factorized", "pixelcnn")
PIXELCNN_LAYERS = Integer(minimum=1, optional=True)
PIXELCNN_FILTERS = Integer(minimum=1, optional=True)
# Sized for a CPU: on the gated preset at latent 50, 3 layers of 16 filters
# cost 1.9 times the factorized step, 4 of 16 3.9 times, 4 of 32 7.7 times.
DEFAULT_PIXELCNN_LAYERS = 3
DEFAULT_PIXELCNN_FILTERS = 16


def causal_mask(kernel_size, in_channels, out_channels, mask_type):
    """The `(k, k, in, out)` mask of a masked convolution in raster order.

    Rows above the centre, and the centre row left of the centre, are seen;
    the centre itself only by type "B".
    """
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B'; got {mask_type!r}.")
    mask = np.zeros((kernel_size, kernel_size, in_channels, out_channels), "float32")
    centre = kernel_size // 2
    mask[:centre] = 1.0
    mask[centre, : centre + (mask_type == "B")] = 1.0
    return mask


@keras.saving.register_keras_serializable(package="vae_tf")
class MaskedConv2D(layers.Conv2D):
    """A `Conv2D` whose kernel only sees the pixels before the centre (raster order).

    Type "A" leaves the centre out (the first layer over the image: a pixel
    never sees itself); type "B" keeps it (the layers after, over features).
    Odd square kernels, stride 1, "same" padding.

    Example:

    >>> layer = MaskedConv2D(16, 7, mask_type="A")
    >>> layer(keras.ops.zeros((1, 28, 28, 1))).shape
    (1, 28, 28, 16)
    """

    def __init__(self, filters, kernel_size, mask_type="B", **kwargs):
        kwargs.setdefault("padding", "same")
        super().__init__(filters, kernel_size, **kwargs)
        size = self.kernel_size
        if size[0] != size[1] or size[0] % 2 == 0:
            raise ValueError(f"A masked convolution needs an odd square kernel; got {size}.")
        if self.padding != "same" or tuple(self.strides) != (1, 1):
            raise ValueError("A masked convolution keeps the image's size: stride 1, 'same'.")
        self.mask_type = mask_type
        causal_mask(1, 1, 1, mask_type)  # checks the type

    def build(self, input_shape):
        super().build(input_shape)
        self.mask = causal_mask(self.kernel_size[0], input_shape[-1], self.filters, self.mask_type)

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, kernel * ops.cast(self.mask, kernel.dtype))

    def get_config(self):
        return {**super().get_config(), "mask_type": self.mask_type}


@keras.saving.register_keras_serializable(package="vae_tf")
class ConditionedGatedMaskedConv(layers.Layer):
    """`tanh(a) * sigmoid(b)` of a masked convolution plus its condition; residual from layer 2.

    `[a, b] = masked_conv(x) + conv1x1(maps)`: the pixels before, and the
    decoder's logits at each pixel.

    Args:
        filters: Channels of the output.
        kernel_size: Of the masked convolution (odd).
        mask_type: "A" (the first layer) or "B".
        residual: Adds the input to the output (same channels).
    """

    def __init__(self, filters, kernel_size, mask_type, residual=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = kernel_size
        self.mask_type = mask_type
        self.residual = residual
        self.masked = MaskedConv2D(2 * filters, kernel_size, mask_type, name="masked")
        self.maps = layers.Conv2D(2 * filters, 1, use_bias=False, name="maps")

    def build(self, x_shape, maps_shape):
        self.masked.build(x_shape)
        self.maps.build(maps_shape)

    def call(self, x, maps):
        gates = self.masked(x) + self.maps(maps)
        # Split, not sliced: the gradient of two slices is two zero-padded
        # copies of the whole tensor (StridedSliceGrad), which took half of
        # the head's backward pass on the CPU; a split's is one concatenation.
        a, b = ops.split(gates, 2, axis=-1)
        out = ops.tanh(a) * ops.sigmoid(b)
        return x + out if self.residual else out

    def compute_output_shape(self, x_shape, maps_shape):
        return (*x_shape[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "mask_type": self.mask_type,
            "residual": self.residual,
        }


def build_pixelcnn(image_shape, layers_count=DEFAULT_PIXELCNN_LAYERS, filters=None):
    """The PixelCNN head `[images, decoder_logits] -> logits` of `p(x_i | x_<i, z)`.

    Args:
        image_shape: `(height, width, 1)`: one channel (the masks order
            pixels, not the channels of a pixel).
        layers_count: Gated masked layers: one 7x7 of type A, then 3x3 of
            type B.
        filters: Channels of each layer; None is `DEFAULT_PIXELCNN_FILTERS` (16).

    Returns:
        A `keras.Model` named "pixelcnn" giving Bernoulli logits, float32.
        Fully convolutional (inputs of any height and width), so that
        drawing a pixel runs it on the rows it can see only.
    """
    image_shape = tuple(image_shape)
    if len(image_shape) != 3 or image_shape[-1] != 1:
        raise ValueError(
            f"The PixelCNN decoder models one channel (its masks order pixels, not the "
            f"channels of a pixel); the images have shape {image_shape}. Use "
            "decoder='factorized' for colour images."
        )
    check_positive_int("pixelcnn layers", layers_count)
    filters = DEFAULT_PIXELCNN_FILTERS if filters is None else filters
    images = keras.Input((None, None, 1), name="images")
    decoder_logits = keras.Input((None, None, 1), name="decoder_logits")
    x = ConditionedGatedMaskedConv(filters, 7, "A", name="gated_masked_0")(images, decoder_logits)
    for index in range(1, layers_count):
        x = ConditionedGatedMaskedConv(
            filters, 3, "B", residual=True, name=f"gated_masked_{index}"
        )(x, decoder_logits)
    refinement = layers.Conv2D(1, 1, name="refinement", dtype="float32")(x)
    logits = layers.Add(name="logits", dtype="float32")([decoder_logits, refinement])
    return keras.Model([images, decoder_logits], logits, name="pixelcnn")


def upward_reach(head):
    """How many rows above a pixel the head's logit of it can see: its kernels' half sizes."""
    return sum(
        layer.masked.kernel_size[0] // 2
        for layer in head.layers
        if isinstance(layer, ConditionedGatedMaskedConv)
    )


def _draw_range(head, inputs, state, first, last):
    """Draws the pixels `first .. last - 1` (raster order), one head pass each.

    `inputs`: `(decoder_logits, key)`; `state`: `(bits, probabilities)`.
    Each pass runs the head on the rows the pixel's logit sees (the window of
    `upward_reach + 1` rows ending at its row, or the first rows): the same
    logit as on the whole image, since the window's padding is only seen by
    rows out of the pixel's reach, at a fraction of the cost.
    """
    decoder_logits, key = inputs
    height, width = decoder_logits.shape[1], decoder_logits.shape[2]
    window = min(height, upward_reach(head) + 1)
    positions = tf.reshape(tf.range(height * width), (1, height, width, 1))

    def step(index, bits, probabilities):
        row, column = index // width, index % width
        top = tf.maximum(0, row - (window - 1))
        logits = head([bits[:, top : top + window], decoder_logits[:, top : top + window]])
        chance = tf.sigmoid(logits[:, row - top, column][:, None, None, :])
        pixel = tf.cast(tf.equal(positions, index), logits.dtype)
        noise = tf.random.stateless_uniform(
            tf.shape(chance), seed=tf.random.experimental.stateless_fold_in(key, index)
        )
        bit = tf.cast(noise < chance, bits.dtype)
        return (
            index + 1,
            bits * (1 - pixel) + bit * pixel,
            probabilities * (1 - pixel) + chance * pixel,
        )

    _, *state = tf.while_loop(lambda index, *_: index < last, step, (first, *state))
    return tuple(state)


# The compiled range-drawing functions of each owner (a head, a prior), for eager calls.
_COMPILED = weakref.WeakKeyDictionary()


def run_in_raster_order(owner, draw_range, inputs, state, height, width, progress="auto"):
    """Runs `draw_range(owner, inputs, state, first, last) -> state` over every position.

    The autoregressive loop of any PixelCNN: positions in raster order, each
    drawn given those before. Inside a graph (a SavedModel's endpoint) one
    `draw_range` call covers all `height * width` positions; eagerly, it runs
    row by row under a progress bar, through one compiled function per
    owner and `draw_range`.

    Args:
        owner: The network drawn from (held weakly by the cache).
        draw_range: The drawing of positions `first .. last - 1`, a
            `tf.while_loop` that returns the new `state`.
        inputs: The tensors every position reads (a seed's key, a condition).
        state: The tensors drawn into, a tuple.
        progress: A bar over the rows (eager calls only): True, False, or
            "auto" (on a terminal or in a notebook).
    """
    if not tf.executing_eagerly():
        return draw_range(owner, inputs, state, 0, height * width)
    compiled = _COMPILED.setdefault(owner, {})
    if draw_range not in compiled:
        # A weak reference: the cached function must not keep its owner alive.
        reference = weakref.ref(owner)
        compiled[draw_range] = tf.function(
            lambda *args: draw_range(reference(), *args), reduce_retracing=True
        )
    function = compiled[draw_range]
    if progress == "auto":
        progress = interactive()
    bar = progress_bar(height, "row", stateful=()) if progress else None
    for row in range(height):
        state = function(inputs, state, tf.constant(row * width), tf.constant((row + 1) * width))
        if bar is not None:
            bar.update(row + 1)
    return state


def draw_pixels(head, decoder_logits, seed=0, progress="auto"):
    """Draws images from the head's `p(x|z)`, pixel by pixel in raster order.

    Args:
        head: A `build_pixelcnn` model.
        decoder_logits: The decoder's logits for the codes, `(N, H, W, 1)`.
        seed: An integer or int32 scalar: the same seed draws the same images.
        progress: A progress bar over the rows (eager calls only): True,
            False, or "auto" (on a terminal or in a notebook).

    Returns:
        `(probabilities, bits)`, each `(N, H, W, 1)` float32: at each pixel
        the probability `p(x_i = 1 | x_<i, z)` it was drawn with (the image
        to show: the mean of each pixel given the pixels drawn before it),
        and the drawn binary image.
    """
    decoder_logits = tf.cast(tf.convert_to_tensor(decoder_logits), "float32")
    key = tf.stack([tf.cast(seed, "int32"), 0])
    empty = tf.zeros_like(decoder_logits)
    height, width = decoder_logits.shape[1], decoder_logits.shape[2]
    bits, probabilities = run_in_raster_order(
        head, _draw_range, (decoder_logits, key), (empty, empty), height, width, progress
    )
    return probabilities, bits
