import keras
import numpy as np
import pytest
import tensorflow as tf

import vae_tf


def test_conv_preset_reproduces_the_keras_io_example():
    encoder, decoder = vae_tf.build_encoder_decoder("conv", latent_dim=2)
    assert encoder.count_params() == 69_076
    assert decoder.count_params() == 65_089
    encoder_layers = [type(layer).__name__ for layer in encoder.layers]
    assert encoder_layers == [
        "InputLayer",
        "Conv2D",
        "Conv2D",
        "Flatten",
        "Dense",
        "Dense",
        "Dense",
    ]
    decoder_layers = [type(layer).__name__ for layer in decoder.layers]
    assert decoder_layers == [
        "InputLayer",
        "Dense",
        "Reshape",
        "Conv2DTranspose",
        "Conv2DTranspose",
        "Conv2DTranspose",
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
    shape = vae_tf.PRESETS[preset][3]  # the preset's own image shape
    encoder, decoder = vae_tf.build_encoder_decoder(preset, latent_dim, image_shape=shape)
    z_mean, z_log_var = encoder(np.zeros((3, *shape), "float32"))
    assert tuple(z_mean.shape) == tuple(z_log_var.shape) == (3, latent_dim)
    assert tuple(decoder(z_mean).shape) == (3, *shape)


def test_dlib64_is_disentanglement_libs_conv_encoder_and_deconv_decoder():
    encoder, decoder = vae_tf.build_encoder_decoder("dlib64", 10, (64, 64, 1))
    convolutions = [layer for layer in encoder.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.strides) for c in convolutions] == [
        (32, (4, 4), (2, 2)),
        (32, (4, 4), (2, 2)),
        (64, (2, 2), (2, 2)),
        (64, (2, 2), (2, 2)),
    ]
    conv = 16 * 32 + 32 + 16 * 32 * 32 + 32 + 4 * 32 * 64 + 64 + 4 * 64 * 64 + 64
    assert encoder.count_params() == conv + (1024 * 256 + 256) + 2 * (256 * 10 + 10)
    deconv = 16 * 64 * 64 + 64 + 16 * 64 * 32 + 32 + 16 * 32 * 32 + 32 + 16 * 32 + 1
    assert decoder.count_params() == (10 * 256 + 256) + (256 * 1024 + 1024) + deconv


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


def test_conv64_preset_follows_the_celeba_vae():
    encoder, decoder = vae_tf.build_encoder_decoder("conv64", 256, image_shape=(64, 64, 3))
    assert [tuple(output.shape) for output in encoder.outputs] == [(None, 256)] * 2
    assert tuple(decoder.outputs[0].shape) == (None, 64, 64, 3)
    convs = [layer for layer in encoder.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.filters for layer in convs] == [32, 64, 128, 256]
    assert all(layer.strides == (2, 2) for layer in convs)
    norms = [
        layer for layer in encoder.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert len(norms) == 4
    ups = [layer for layer in decoder.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert [layer.filters for layer in ups] == [128, 64, 32, 3]
    grey = vae_tf.build_decoder("conv64", 8, image_shape=(32, 48, 1))
    assert tuple(grey.outputs[0].shape) == (None, 32, 48, 1)
    with pytest.raises(ValueError, match="multiples of 16"):
        vae_tf.build_encoder("conv64", 8, image_shape=(60, 60, 3))


def test_conv64_vae_trains_and_round_trips_with_its_batch_statistics(tmp_path):
    encoder, decoder = vae_tf.build_encoder_decoder("conv64", 16, image_shape=(32, 32, 3))
    vae = vae_tf.VAE(encoder, decoder, seed=0)
    vae.compile(optimizer="adam")
    images = np.random.default_rng(0).uniform(size=(32, 32, 32, 3)).astype("float32")
    history = vae.fit(images, epochs=2, batch_size=8, verbose=0).history
    assert np.isfinite(history["total_loss"]).all()
    moving_mean = [w for w in vae.encoder.weights if "moving_mean" in w.path][0]
    assert np.abs(moving_mean.numpy()).max() > 0  # updated by the training step
    vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras")
    np.testing.assert_allclose(
        loaded.reconstruct(images[:4]), vae.reconstruct(images[:4]), rtol=1e-5, atol=1e-6
    )


def test_gated_preset_multiplies_a_linear_convolution_by_a_sigmoid_gate(tmp_path):
    encoder, decoder = vae_tf.build_encoder_decoder("gated", 8)
    convs = [layer for layer in encoder.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.filters for layer in convs] == [32, 32, 64, 64, 64, 64]
    assert [layer.activation.__name__ for layer in convs] == ["linear", "sigmoid"] * 3
    ups = [layer for layer in decoder.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert [layer.filters for layer in ups] == [32, 32, 1]
    # The first block, computed independently from its weights.
    images = np.random.default_rng(0).uniform(size=(2, 28, 28, 1)).astype("float32")
    h_layer, g_layer = convs[:2]
    first_block = keras.Model(encoder.inputs, encoder.get_layer(index=3).output)

    def conv(layer):
        kernel, bias = layer.get_weights()
        return tf.nn.conv2d(images, kernel, strides=2, padding="SAME") + bias

    expected = conv(h_layer) * tf.sigmoid(conv(g_layer))
    np.testing.assert_allclose(first_block(images), expected, rtol=1e-5, atol=1e-6)
    # It serves conditional models and other shapes, and round trips.
    encoder, decoder = vae_tf.build_encoder_decoder("gated", 4, (32, 20, 3), num_classes=3)
    vae = vae_tf.VAE(encoder, decoder, seed=0, num_classes=3)
    images = np.random.default_rng(1).uniform(size=(4, 32, 20, 3)).astype("float32")
    labels = np.array([0, 1, 2, 0])
    assert tuple(vae.reconstruct(images, labels).shape) == (4, 32, 20, 3)
    vae.save(tmp_path / "gated.keras")
    loaded = keras.saving.load_model(tmp_path / "gated.keras")
    z = np.random.default_rng(2).normal(size=(4, 4)).astype("float32")
    np.testing.assert_allclose(loaded.decode(z, labels), vae.decode(z, labels), rtol=1e-6)
    with pytest.raises(ValueError, match="'gated' networks halve the image 2 times"):
        vae_tf.build_encoder("gated", 8, image_shape=(30, 30, 1))
