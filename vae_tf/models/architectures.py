"""Functional encoder and decoder builders, and the named presets.

Encoders map images `(H, W, C)` to `[z_mean, z_log_var]`; decoders map a latent
code `(latent_dim,)` to per-pixel Bernoulli **logits** `(H, W, C)` (apply a
sigmoid for probabilities; `VAE.decode` does). The heads (`z_mean`,
`z_log_var`, `logits`) compute in float32 so that mixed precision keeps the
losses finite.

Presets:

- `conv`: the keras.io "Variational AutoEncoder" example, layer for layer
  (69,076 + 65,089 parameters at `latent_dim=2`), with a logits head.
- `mlp`: 784-400-latent, as in the PyTorch examples' VAE.
- `gated`: gated convolutions `h * sigmoid(g)` (Dauphin et al., 2017), after
  the convolutional VAEs of Tomczak & Welling (2018), sized for a CPU: 28 ->
  14 -> 7 in the encoder (32, 64, 64 filters) and a gated dense layer, 7 -> 14
  -> 28 in the decoder (64, 32 filters, then the logits). On binarized MNIST
  at latent 50 it scores 8.6 nats better than `mlp` at the same 20 epochs, for
  nine times its cost per image (docs/models.md).
- `conv64`: the CelebA face VAE of the design documents, for 64x64 RGB
  images (any multiple of 16): four stride-2 4x4 convolutions of 32, 64, 128
  and 256 filters, each with batch normalization and a leaky ReLU, and the
  mirrored decoder; meant for a latent size of 256 and Adam at 0.0005 (at
  0.001 its wide latent heads overshoot in the first steps).

- `dlib64`: the networks of disentanglement_lib's studies (Locatello et al.,
  2019), after the beta-VAE paper's (Higgins et al., 2017, Table 1) for
  64x64 images: four stride-2 convolutions of 32, 32, 64 and 64 filters
  (kernels 4, 4, 2, 2, ReLU) and a dense layer of 256 units; the decoder a
  dense 256, a dense 1024 reshaped to 4x4x64, and four stride-2 4x4
  transposed convolutions of 64, 32, 32 and the channels. For `shapes` and
  `faces` at a latent size of 10.

`build_hierarchical_networks` gives the four networks of two stochastic
layers (Burda et al., 2015): the mlp preset with `stochastic_layers=2`;
`build_top_down_networks` those of Tomczak & Welling's top-down two-layer
VAE on a convolutional preset (`gated` with `stochastic_layers=2`).

Example:

```python
encoder, decoder = build_encoder_decoder("conv", latent_dim=2)
encoder.count_params(), decoder.count_params()  # (69076, 65089)
```
"""

import math

import keras
from keras import layers

from vae_tf.data import MNIST_SHAPE
from vae_tf.utils.checks import check_positive_int


def _latent_heads(x, latent_dim, variational, context_dim=None):
    if not variational:
        return layers.Dense(latent_dim, name="z", dtype="float32")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean", dtype="float32")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var", dtype="float32")(x)
    if context_dim is None:
        return [z_mean, z_log_var]
    context = layers.Dense(context_dim, name="context", dtype="float32")(x)
    return [z_mean, z_log_var, context]


def _conv_encoder(inputs):
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    return layers.Dense(16, activation="relu")(x)


def _conv_decoder(latent_inputs, image_shape):
    height, width, channels = image_shape
    x = layers.Dense((height // 4) * (width // 4) * 64, activation="relu")(latent_inputs)
    x = layers.Reshape((height // 4, width // 4, 64))(x)
    x = layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)
    return layers.Conv2DTranspose(channels, 3, padding="same", name="logits", dtype="float32")(x)


def _halving_check(preset, halvings, hint):
    """A shape check for a preset that halves height and width `halvings` times."""
    factor = 2**halvings

    def check(image_shape):
        height, width, _ = image_shape
        if height % factor or width % factor:
            raise ValueError(
                f"The '{preset}' networks halve the image {halvings} times, so height and "
                f"width must be multiples of {factor}; got image_shape={tuple(image_shape)}. "
                f"{hint}"
            )

    return check


def _mlp_encoder(inputs):
    x = layers.Flatten()(inputs)
    return layers.Dense(400, activation="relu")(x)


def _mlp_decoder(latent_inputs, image_shape):
    x = layers.Dense(400, activation="relu")(latent_inputs)
    x = layers.Dense(math.prod(image_shape), dtype="float32")(x)
    return layers.Reshape(image_shape, name="logits", dtype="float32")(x)


_CONV64_FILTERS = (32, 64, 128, 256)


def _conv64_encoder(inputs):
    x = inputs
    for filters in _CONV64_FILTERS:
        x = layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU(0.2)(x)
    return layers.Flatten()(x)


def _conv64_decoder(latent_inputs, image_shape):
    height, width, channels = image_shape
    low = (height // 16, width // 16, _CONV64_FILTERS[-1])
    x = layers.Dense(math.prod(low), use_bias=False)(latent_inputs)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Reshape(low)(x)
    for filters in reversed(_CONV64_FILTERS[:-1]):
        x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU(0.2)(x)
    return layers.Conv2DTranspose(
        channels, 4, strides=2, padding="same", name="logits", dtype="float32"
    )(x)


def _dlib64_encoder(inputs):
    x = inputs
    for filters, kernel in ((32, 4), (32, 4), (64, 2), (64, 2)):
        x = layers.Conv2D(filters, kernel, strides=2, padding="same", activation="relu")(x)
    return layers.Dense(256, activation="relu")(layers.Flatten()(x))


def _dlib64_decoder(latent_inputs, image_shape):
    height, width, channels = image_shape
    low = (height // 16, width // 16, 64)
    x = layers.Dense(256, activation="relu")(latent_inputs)
    x = layers.Reshape(low)(layers.Dense(math.prod(low), activation="relu")(x))
    for filters in (64, 32, 32):
        x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", activation="relu")(x)
    return layers.Conv2DTranspose(
        channels, 4, strides=2, padding="same", name="logits", dtype="float32"
    )(x)


def _gated(x, layer, *args, **kwargs):
    # h * sigmoid(g) with h and g two `layer(*args, **kwargs)` of the same input:
    # the product is linear in h, so the gate is the only nonlinearity (as in
    # Tomczak & Welling).
    h = layer(*args, **kwargs)(x)
    g = layer(*args, activation="sigmoid", **kwargs)(x)
    return layers.Multiply()([h, g])


def _gated_encoder(inputs):
    x = _gated(inputs, layers.Conv2D, 32, 5, strides=2, padding="same")
    x = _gated(x, layers.Conv2D, 64, 3, strides=2, padding="same")
    x = _gated(x, layers.Conv2D, 64, 3, padding="same")
    return layers.Flatten()(x)


def _gated_decoder(latent_inputs, image_shape):
    height, width, channels = image_shape
    low = (height // 4, width // 4, 64)
    x = layers.Reshape(low)(_gated(latent_inputs, layers.Dense, math.prod(low)))
    x = _gated(x, layers.Conv2D, 64, 3, padding="same")
    x = _gated(x, layers.Conv2DTranspose, 32, 3, strides=2, padding="same")
    return layers.Conv2DTranspose(
        channels, 3, strides=2, padding="same", name="logits", dtype="float32"
    )(x)


# name -> (encoder body: images -> features, decoder body: z -> logits,
#          shape check or None, default image shape)
PRESETS = {
    "conv": (
        _conv_encoder,
        _conv_decoder,
        _halving_check("conv", 2, "Resize or pad the images, or use the 'mlp' preset."),
        MNIST_SHAPE,
    ),
    "mlp": (_mlp_encoder, _mlp_decoder, None, MNIST_SHAPE),
    "gated": (
        _gated_encoder,
        _gated_decoder,
        _halving_check("gated", 2, "Resize or pad the images, or use the 'mlp' preset."),
        MNIST_SHAPE,
    ),
    "conv64": (
        _conv64_encoder,
        _conv64_decoder,
        _halving_check("conv64", 4, "Resize the images (image_size=64 is its size)."),
        (64, 64, 3),
    ),
    "dlib64": (
        _dlib64_encoder,
        _dlib64_decoder,
        _halving_check("dlib64", 4, "Resize the images (image_size=64 is its size)."),
        (64, 64, 1),
    ),
}


def check_architecture(preset, latent_dim, image_shape=None):
    """The image shape a preset will be built for; ValueError if it cannot be.

    Example:

    >>> check_architecture("conv", 2, (30, 30, 1))   # ValueError: multiples of 4
    """
    if preset not in PRESETS:
        raise ValueError(
            f"Unknown architecture preset {preset!r}; choose one of {sorted(PRESETS)}."
        )
    check_positive_int("latent_dim", latent_dim)
    image_shape = tuple(PRESETS[preset][3] if image_shape is None else image_shape)
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels); got {image_shape!r}.")
    for axis, size in zip(("height", "width", "channels"), image_shape):
        check_positive_int(f"image_shape's {axis}", size)
    check = PRESETS[preset][2]
    if check is not None:
        check(image_shape)
    return image_shape


def _condition_input(num_classes):
    if num_classes is None:
        return None
    check_positive_int("num_classes", num_classes)
    return keras.Input(shape=(num_classes,), name="label")


def build_encoder(
    preset="conv",
    latent_dim=2,
    image_shape=None,
    num_classes=None,
    variational=True,
    context_dim=None,
):
    """Builds the functional encoder `images -> [z_mean, z_log_var]`.

    Args:
        preset: Name of the architecture, one of `PRESETS`.
        latent_dim: Size of the latent code.
        image_shape: `(height, width, channels)` of the input images; None
            is the preset's own (28x28x1; 64x64x3 for conv64).
        num_classes: For a conditional VAE, the number of classes: the
            encoder then takes `[images, one_hot_labels]` and sees the one-hot
            label as `num_classes` constant feature maps concatenated to the
            image channels (Sohn et al., 2015).
        variational: False gives a deterministic encoder `images -> z` (one
            head named "z") for the `Autoencoder` baseline.
        context_dim: Adds a third head, `context` (linear, of this size),
            the vector a flow posterior's steps are conditioned on
            (`VAE(..., flow=...)`); None (the default) for none.

    Returns:
        A `keras.Model` named "encoder".

    Example:

    >>> encoder = build_encoder("conv", latent_dim=2)
    >>> encoder.count_params()
    69076
    """
    image_shape = check_architecture(preset, latent_dim, image_shape)
    images = keras.Input(shape=image_shape, name="images")
    label = _condition_input(num_classes)
    if label is None:
        inputs, features = images, images
    else:
        height, width, _ = image_shape
        maps = layers.RepeatVector(height * width)(label)
        maps = layers.Reshape((height, width, num_classes), name="label_maps")(maps)
        inputs, features = (
            [images, label],
            layers.Concatenate(name="images_and_label")([images, maps]),
        )
    if context_dim is not None:
        check_positive_int("context_dim", context_dim)
        if not variational:
            raise ValueError(
                "context_dim gives a flow posterior its context: a deterministic encoder "
                "(variational=False) has no posterior to flow; drop context_dim."
            )
    features = PRESETS[preset][0](features)
    outputs = _latent_heads(features, latent_dim, variational, context_dim)
    return keras.Model(inputs, outputs, name="encoder")


def build_decoder(preset="conv", latent_dim=2, image_shape=None, num_classes=None):
    """Builds the functional decoder `z -> logits` of shape `image_shape`.

    Args:
        preset: Name of the architecture, one of `PRESETS`.
        latent_dim: Size of the latent code.
        image_shape: `(height, width, channels)` of the generated images;
            None is the preset's own.
        num_classes: For a conditional VAE, the number of classes: the
            decoder then takes `[z, one_hot_labels]`, concatenated.

    Returns:
        A `keras.Model` named "decoder" whose output is Bernoulli logits.

    Example:

    >>> decoder = build_decoder("conv", latent_dim=2)
    >>> decoder.count_params()
    65089
    """
    image_shape = check_architecture(preset, latent_dim, image_shape)
    z = keras.Input(shape=(latent_dim,), name="z")
    label = _condition_input(num_classes)
    if label is None:
        inputs, features = z, z
    else:
        inputs, features = [z, label], layers.Concatenate(name="z_and_label")([z, label])
    outputs = PRESETS[preset][1](features, image_shape)
    return keras.Model(inputs, outputs, name="decoder")


def build_encoder_decoder(
    preset="conv",
    latent_dim=2,
    image_shape=None,
    num_classes=None,
    variational=True,
    context_dim=None,
):
    """Builds the matching `(encoder, decoder)` pair of a preset (see `build_encoder`).

    Example:

    >>> encoder, decoder = build_encoder_decoder("mlp", latent_dim=20)
    >>> encoder, decoder = build_encoder_decoder("conv", 2, num_classes=10)  # conditional
    >>> encoder, decoder = build_encoder_decoder("conv", 2, variational=False)  # autoencoder
    >>> encoder, decoder = build_encoder_decoder("gated", 50, context_dim=100)  # a flow's
    """
    return (
        build_encoder(preset, latent_dim, image_shape, num_classes, variational, context_dim),
        build_decoder(preset, latent_dim, image_shape, num_classes),
    )


def _dense_stack(x, units, name):
    # ELU, not the paper's tanh: in 6 epochs on 10,000 binarized digits, the
    # tanh networks of these sizes stayed at the mean image (reconstruction
    # 207 nats), softplus reached 168, ReLU 164 and ELU 144.
    for index, size in enumerate(units):
        x = layers.Dense(size, activation="elu", name=f"{name}_{index}")(x)
    return x


def _gaussian_heads(x, size, prefix=""):
    z_mean = layers.Dense(size, name=f"{prefix}z_mean", dtype="float32")(x)
    z_log_var = layers.Dense(size, name=f"{prefix}z_log_var", dtype="float32")(x)
    return [z_mean, z_log_var]


def build_hierarchical_networks(latent_dim=50, image_shape=None, hidden_latent_dim=None):
    """The four networks of a VAE with two stochastic layers (Burda et al., 2015).

    `q(z1|x) q(z2|z1)` and `p(z2) p(z1|z2) p(x|z1)` with the paper's sizes:
    x -> 100 -> 100 -> z1 (`hidden_latent_dim`, 100 there) -> 50 -> 50 -> z2
    (`latent_dim`, 50 there), and the mirrored generative path; ELU units
    rather than the paper's tanh, which learned far slower here. For
    `vae_tf.models.HierarchicalVAE`.

    Args:
        latent_dim: Size of the top code z2, the one the prior is over.
        image_shape: `(height, width, channels)`; None is 28x28x1.
        hidden_latent_dim: Size of z1; None is `2 * latent_dim`.

    Returns:
        `(encoder, decoder, top_encoder, top_decoder)`: `images -> [z1_mean,
        z1_log_var]`, `z1 -> logits`, `z1 -> [z2_mean, z2_log_var]` and
        `z2 -> [z1_mean, z1_log_var]` of `p(z1|z2)`.

    Example:

    >>> networks = build_hierarchical_networks(50)       # Burda et al.'s sizes
    >>> [network.name for network in networks]
    ['encoder', 'decoder', 'top_encoder', 'top_decoder']
    """
    image_shape = check_architecture("mlp", latent_dim, image_shape)
    hidden = 2 * latent_dim if hidden_latent_dim is None else hidden_latent_dim
    check_positive_int("hidden_latent_dim", hidden)
    units, top_units = (100, 100), (50, 50)
    images = keras.Input(shape=image_shape, name="images")
    features = _dense_stack(layers.Flatten()(images), units, "hidden")
    encoder = keras.Model(images, _gaussian_heads(features, hidden), name="encoder")
    z1 = keras.Input(shape=(hidden,), name="z")
    x = _dense_stack(z1, units, "hidden")
    x = layers.Dense(math.prod(image_shape), dtype="float32")(x)
    logits = layers.Reshape(image_shape, name="logits", dtype="float32")(x)
    decoder = keras.Model(z1, logits, name="decoder")
    z1_top = keras.Input(shape=(hidden,), name="z1")
    top_encoder = keras.Model(
        z1_top,
        _gaussian_heads(_dense_stack(z1_top, top_units, "top"), latent_dim),
        name="top_encoder",
    )
    z2 = keras.Input(shape=(latent_dim,), name="z2")
    top_decoder = keras.Model(
        z2,
        _gaussian_heads(_dense_stack(z2, top_units, "top"), hidden, "prior_"),
        name="top_decoder",
    )
    return encoder, decoder, top_encoder, top_decoder


def build_top_down_networks(
    preset="gated", latent_dim=40, image_shape=None, hidden_latent_dim=None
):
    """The four networks of a top-down two-layer VAE (Tomczak & Welling's convHVAE, 2018).

    For `vae_tf.models.TopDownHierarchicalVAE`: `q(z2|x)` is a preset's
    encoder, which also gives a context of 300 features of the image; `q(z1|x,
    z2)` reads the context and z2 through two gated dense layers of 300 units
    (`h * sigmoid(g)`, as the paper's); `p(z1|z2)` is two such layers; and
    `p(x|z1, z2)` is the preset's decoder on z1 and z2 side by side.

    Args:
        preset: The architecture of the image networks, one of `PRESETS`.
        latent_dim: Size of the top code z2, the one the prior is over.
        image_shape: `(height, width, channels)`; None is the preset's.
        hidden_latent_dim: Size of z1; None is `latent_dim` (the paper's 40 and 40).

    Returns:
        `(encoder, decoder, bottom_encoder, top_decoder)`: `images -> [z2_mean,
        z2_log_var, context]`, `[z1, z2] -> logits`, `[context, z2] -> [z1_mean,
        z1_log_var]` and `z2 -> [z1_mean, z1_log_var]` of `p(z1|z2)`.

    Example:

    >>> networks = build_top_down_networks("gated", latent_dim=40)
    >>> [network.name for network in networks]
    ['encoder', 'decoder', 'bottom_encoder', 'top_decoder']
    """
    image_shape = check_architecture(preset, latent_dim, image_shape)
    hidden = latent_dim if hidden_latent_dim is None else hidden_latent_dim
    check_positive_int("hidden_latent_dim", hidden)
    units = 300
    encoder = build_encoder(preset, latent_dim, image_shape, context_dim=units)
    decoder = build_decoder(preset, hidden + latent_dim, image_shape)
    context = keras.Input(shape=(units,), name="context")
    z2 = keras.Input(shape=(latent_dim,), name="z2")
    x = layers.Concatenate(name="context_and_z2")([context, z2])
    x = _gated(_gated(x, layers.Dense, units), layers.Dense, units)
    bottom_encoder = keras.Model([context, z2], _gaussian_heads(x, hidden), name="bottom_encoder")
    top_z2 = keras.Input(shape=(latent_dim,), name="z2")
    y = _gated(_gated(top_z2, layers.Dense, units), layers.Dense, units)
    top_decoder = keras.Model(top_z2, _gaussian_heads(y, hidden, "prior_"), name="top_decoder")
    return encoder, decoder, bottom_encoder, top_decoder


def check_vq_image_shape(image_shape):
    """Refuses an image shape the VQ-VAE's two stride-2 convolutions do not divide."""
    image_shape = tuple(image_shape or MNIST_SHAPE)
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels); got {image_shape!r}.")
    _halving_check(
        "vq_vae",
        2,
        "Resize or pad the images (image_size=, a multiple of 4), so that each code covers "
        "4x4 pixels.",
    )(image_shape)


def _label_maps(label, height, width, num_classes, name):
    """The one-hot label as `num_classes` constant maps of `height x width`."""
    maps = layers.RepeatVector(height * width)(label)
    return layers.Reshape((height, width, num_classes), name=name)(maps)


VQ_NETWORKS = ("residual", "keras_io")
# The paper's residual networks have 256 units; 64 keep an MNIST epoch near a
# minute on a 2-core CPU, and already use 60 of 64 codes evenly (perplexity 59.8).
DEFAULT_VQ_HIDDEN = 64


def _vq_residual(x, hidden):
    """ReLU, 3x3 convolution, ReLU, 1x1 convolution, added to the input (van den Oord et al.)."""
    y = layers.Conv2D(hidden, 3, padding="same")(layers.ReLU()(x))
    y = layers.Conv2D(hidden, 1)(layers.ReLU()(y))
    return layers.Add()([x, y])


def build_vq_networks(
    code_dim=16, image_shape=None, num_classes=None, networks="residual", hidden=DEFAULT_VQ_HIDDEN
):
    """The encoder and decoder of a VQ-VAE: maps of code vectors, a quarter of the image's size.

    `images -> z_e (H/4, W/4, code_dim)`, 7x7 for MNIST and 16x16 for 64x64
    images, and `z_q -> logits` of the images. `networks`:

    - `"residual"` (the default): the VQ-VAE paper's (van den Oord et al.,
      2017): two stride-2 4x4 convolutions and two residual blocks (ReLU, 3x3,
      ReLU, 1x1) of `hidden` units, then a 1x1 convolution to `code_dim`; the
      decoder a 3x3 convolution, two residual blocks and two stride-2 4x4
      transposed convolutions. Each code sees 26x26 pixels: on MNIST no
      position's window is blank, so codes need not spend themselves on the
      empty background;
    - `"keras_io"`: the keras.io "Vector-Quantized Variational Autoencoders"
      example's: two stride-2 3x3 convolutions of 32 and 64 filters (ReLU) and
      the 1x1 convolution, mirrored by transposed convolutions. Each code sees
      7x7 pixels: on MNIST 44% of the positions see a blank window, which all
      take one code.

    A conditional pair sees the one-hot label as constant maps beside the
    image, and beside the codes.

    Example:

    >>> encoder, decoder = build_vq_networks(16)
    >>> encoder.output.shape, decoder.input.shape
    ((None, 7, 7, 16), (None, 7, 7, 16))
    """
    check_vq_image_shape(image_shape)
    check_positive_int("code_dim", code_dim)
    check_positive_int("hidden", hidden)
    if networks not in VQ_NETWORKS:
        raise ValueError(f"networks must be one of {VQ_NETWORKS}; got {networks!r}.")
    image_shape = tuple(image_shape or MNIST_SHAPE)
    height, width, channels = image_shape
    images = keras.Input(shape=image_shape, name="images")
    codes = keras.Input(shape=(height // 4, width // 4, code_dim), name="codes")
    label = _condition_input(num_classes)
    if label is None:
        encoder_inputs, x = images, images
        decoder_inputs, y = codes, codes
    else:
        encoder_inputs = [images, label]
        x = layers.Concatenate(name="images_and_label")(
            [images, _label_maps(label, height, width, num_classes, "label_maps")]
        )
        decoder_label = _condition_input(num_classes)
        decoder_inputs = [codes, decoder_label]
        y = layers.Concatenate(name="codes_and_label")(
            [codes, _label_maps(decoder_label, height // 4, width // 4, num_classes, "label_maps")]
        )
    if networks == "keras_io":
        x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
        x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
        y = layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(y)
        y = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(y)
        kernel = 3
    else:
        x = layers.Conv2D(hidden, 4, strides=2, padding="same", activation="relu")(x)
        x = layers.Conv2D(hidden, 4, strides=2, padding="same")(x)
        x = layers.ReLU()(_vq_residual(_vq_residual(x, hidden), hidden))
        y = layers.Conv2D(hidden, 3, padding="same")(y)
        y = layers.ReLU()(_vq_residual(_vq_residual(y, hidden), hidden))
        y = layers.Conv2DTranspose(hidden, 4, strides=2, padding="same", activation="relu")(y)
        kernel = 4
    z_e = layers.Conv2D(code_dim, 1, padding="same", name="z_e", dtype="float32")(x)
    strides = 1 if networks == "keras_io" else 2
    logits = layers.Conv2DTranspose(
        channels, kernel, strides=strides, padding="same", name="logits", dtype="float32"
    )(y)
    return (
        keras.Model(encoder_inputs, z_e, name="encoder"),
        keras.Model(decoder_inputs, logits, name="decoder"),
    )
