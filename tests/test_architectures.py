import keras
import numpy as np
import pytest

import vae_tf


def test_conv_preset_reproduces_the_keras_io_example():
    encoder, decoder = vae_tf.build_encoder_decoder("conv", latent_dim=2)
    assert encoder.count_params() == 69_076
    assert decoder.count_params() == 65_089
    encoder_layers = [type(layer).__name__ for layer in encoder.layers]
    assert encoder_layers == [
        "InputLayer", "Conv2D", "Conv2D", "Flatten", "Dense", "Dense", "Dense",
    ]
    decoder_layers = [type(layer).__name__ for layer in decoder.layers]
    assert decoder_layers == [
        "InputLayer", "Dense", "Reshape", "Conv2DTranspose", "Conv2DTranspose", "Conv2DTranspose",
    ]
    # The head gives logits (no sigmoid), computed in float32.
    assert decoder.layers[-1].activation.__name__ == "linear"


def test_mlp_preset_is_784_400_latent():
    encoder, decoder = vae_tf.build_encoder_decoder("mlp", latent_dim=20)
    assert encoder.count_params() == (784 * 400 + 400) + 2 * (400 * 20 + 20)
    assert decoder.count_params() == (20 * 400 + 400) + (400 * 784 + 784)


@pytest.mark.parametrize("preset", sorted(vae_tf.PRESETS))
@pytest.mark.parametrize("latent_dim", [1, 2, 16])
def test_presets_map_images_to_codes_and_back(preset, latent_dim):
    encoder, decoder = vae_tf.build_encoder_decoder(preset, latent_dim)
    z_mean, z_log_var = encoder(np.zeros((3, 28, 28, 1), "float32"))
    assert tuple(z_mean.shape) == tuple(z_log_var.shape) == (3, latent_dim)
    assert tuple(decoder(z_mean).shape) == (3, 28, 28, 1)


def test_presets_adapt_to_other_image_shapes():
    encoder, decoder = vae_tf.build_encoder_decoder("conv", 4, image_shape=(32, 16, 3))
    assert tuple(decoder(encoder(np.zeros((2, 32, 16, 3)))[0]).shape) == (2, 32, 16, 3)


def test_heads_stay_float32_under_mixed_precision():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        encoder, decoder = vae_tf.build_encoder_decoder("conv", 2)
    finally:
        keras.config.set_dtype_policy(previous)
    z_mean, z_log_var = encoder(np.zeros((1, 28, 28, 1), "float32"))
    assert z_mean.dtype == z_log_var.dtype == "float32"
    assert decoder(z_mean).dtype == "float32"
    assert encoder.layers[1].compute_dtype == "float16"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"preset": "resnet"}, "Unknown architecture preset 'resnet'"),
        ({"latent_dim": 0}, "latent_dim must be a positive integer"),
        ({"latent_dim": 2.5}, "latent_dim must be a positive integer"),
        ({"image_shape": (28, 28)}, "image_shape must be (height, width, channels)"),
        ({"image_shape": (28, 28, 0)}, "image_shape's channels must be a positive integer"),
        ({"image_shape": (30, 30, 1)}, "multiples of 4"),
    ],
)
def test_builders_reject_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        vae_tf.build_encoder(**kwargs)


def test_encoder_config_round_trip_gives_same_outputs():
    encoder = vae_tf.build_encoder("conv", 2)
    clone = keras.Model.from_config(encoder.get_config())
    clone.set_weights(encoder.get_weights())
    x = np.random.default_rng(0).uniform(size=(2, 28, 28, 1)).astype("float32")
    np.testing.assert_array_equal(encoder(x)[0], clone(x)[0])
