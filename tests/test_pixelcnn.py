"""The autoregressive decoder (vae_tf.models.pixelcnn): masks, density, draws, the model.

The head's logit of pixel i must depend on the pixels before i only; its
`p(x|z)` must sum to one over every image of a small grid; its draws must
follow that distribution; and the model passes the harness.
"""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from harness import run_variant_test

import vae_tf
from vae_tf.models.pixelcnn import MaskedConv2D
from vae_tf.models.pixelcnn import build_pixelcnn
from vae_tf.models.pixelcnn import draw_pixels


def numpy(value):
    return keras.ops.convert_to_numpy(value)


def randomized(model, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        weight.assign(rng.normal(scale=scale, size=weight.shape).astype("float32"))
    return model


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_a_masked_convolution_sees_the_pixels_before_the_centre_only(mask_type):
    layer = randomized(MaskedConv2D(3, 5, mask_type=mask_type))
    images = tf.constant(np.random.default_rng(1).normal(size=(1, 6, 6, 2)).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(images)
        out = layer(images)[0, 3, 2, 0]
    seen = np.abs(numpy(tape.gradient(out, images))[0]).sum(axis=-1) > 0
    order = np.arange(36).reshape(6, 6)
    expected = (order < order[3, 2]) | ((order == order[3, 2]) & (mask_type == "B"))
    # Within the kernel's reach (rows 1-5, columns 0-4), exactly the pixels before.
    reach = np.zeros_like(expected)
    reach[1:6, 0:5] = True
    np.testing.assert_array_equal(seen, expected & reach)


def test_each_logit_of_the_head_depends_on_the_pixels_before_it_only():
    head = randomized(build_pixelcnn((5, 5, 1), layers_count=3, filters=4))
    images = tf.constant((np.random.default_rng(2).random((1, 5, 5, 1)) > 0.5).astype("float32"))
    maps = tf.constant(np.random.default_rng(3).normal(size=(1, 5, 5, 1)).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([images, maps])
        logits = tf.reshape(head([images, maps]), (25,))
        logits = [logits[i] for i in range(25)]
    for i in range(25):
        pixels = np.abs(numpy(tape.gradient(logits[i], images))).reshape(25)
        assert np.all(pixels[i:] == 0), f"logit {i} sees pixel {np.flatnonzero(pixels[i:])[0] + i}"
        neighbour = i - 1 if i % 5 else i - 5  # to its left, or above in the first column
        assert i == 0 or pixels[neighbour] > 0, f"logit {i} misses pixel {neighbour}"
        own = np.abs(numpy(tape.gradient(logits[i], maps))).reshape(25)
        assert own[i] > 0, "the decoder's logit of its own pixel is its condition"


def all_images(height, width):
    grid = itertools.product([0.0, 1.0], repeat=height * width)
    return np.array(list(grid), "float32").reshape(-1, height, width, 1)


def test_the_density_sums_to_one_and_the_draws_follow_it():
    head = randomized(build_pixelcnn((2, 3, 1), layers_count=2, filters=8))
    maps = np.random.default_rng(4).normal(size=(1, 2, 3, 1)).astype("float32")
    images = all_images(2, 3)
    logits = numpy(head([images, np.repeat(maps, len(images), axis=0)])).astype("float64")
    log_p = -(np.logaddexp(0, -logits) * images + np.logaddexp(0, logits) * (1 - images))
    probabilities = np.exp(log_p.sum(axis=(1, 2, 3)))
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-6)
    count = 4000
    shown, bits = draw_pixels(head, np.repeat(maps, count, axis=0), seed=1, progress=False)
    index = numpy(bits).reshape(count, 6) @ (2 ** np.arange(5, -1, -1))
    frequencies = np.bincount(index.astype(int), minlength=64) / count
    error = np.sqrt(probabilities * (1 - probabilities) / count)
    assert np.all(np.abs(frequencies - probabilities) < 5 * error + 1e-3)
    # The image shown holds, at each pixel, the probability it was drawn with.
    first = 1 / (1 + np.exp(-logits[0, 0, 0, 0]))  # pixel 0 sees no pixel: the same in all
    np.testing.assert_allclose(numpy(shown)[:, 0, 0, 0], first, rtol=1e-5)
    again, same_bits = draw_pixels(head, np.repeat(maps, 5, axis=0), seed=1, progress=False)
    np.testing.assert_array_equal(numpy(same_bits), numpy(bits)[:5])


def test_drawing_a_pixel_on_the_rows_it_sees_gives_its_logit_on_the_whole_image():
    head = randomized(build_pixelcnn((12, 4, 1), layers_count=2, filters=6), seed=5)
    maps = np.random.default_rng(6).normal(size=(3, 12, 4, 1)).astype("float32")
    shown, bits = draw_pixels(head, maps, seed=2, progress=False)
    assert 0 < numpy(bits).mean() < 1
    # Teacher forcing with the drawn pixels gives each the probability it was drawn with.
    expected = keras.ops.sigmoid(head([bits, tf.constant(maps)]))
    np.testing.assert_allclose(numpy(shown), numpy(expected), atol=1e-5)


def test_settings_the_pixelcnn_cannot_take_are_refused_with_the_reason():
    run = dict(latent_dim=2, epochs=1)
    bad = {
        "a continuous likelihood": (
            dict(decoder="pixelcnn", likelihood="gaussian"),
            "Bernoulli pixels.*likelihood='gaussian' is continuous",
        ),
        "layers without it": (dict(pixelcnn_layers=3), "pixelcnn_layers=3 without the PixelCNN"),
        "the autoencoder": (
            dict(model="autoencoder", decoder="pixelcnn"),
            "decoder cannot apply.*model=vae",
        ),
        "no layers": (dict(decoder="pixelcnn", pixelcnn_layers=0), "pixelcnn_layers must be"),
        "grey pixels": (dict(decoder="pixelcnn"), "binary images too.*binarize=True"),
        "colour images": (
            dict(decoder="pixelcnn", dataset="cifar10", binarize=True),
            "one channel.*in colour",
        ),
        "filters without it": (dict(pixelcnn_filters=8), "pixelcnn_filters=8 without"),
    }
    for case, (settings, message) in bad.items():
        with pytest.raises(ValueError, match=message):
            vae_tf.TrainConfig(**{**run, **settings}).validate()
            pytest.fail(case)
    with pytest.raises(ValueError, match="one channel.*decoder='factorized'"):
        build_pixelcnn((32, 32, 3))
    networks = vae_tf.build_encoder_decoder("mlp", 2)
    with pytest.raises(ValueError, match="likelihood='gaussian'.*likelihood='bernoulli'"):
        vae_tf.VAE(*networks, likelihood="gaussian", pixelcnn=build_pixelcnn((28, 28, 1), 1))
    with pytest.raises(ValueError, match=r"build_pixelcnn\(\(28, 28, 1\)\)"):
        vae_tf.VAE(*networks, pixelcnn=networks[1])


@pytest.mark.slow  # the SavedModel (whose decode draws the pixels in a loop) in a fresh process
def test_a_vae_with_the_pixelcnn_decoder_passes_the_harness(mnist_small, tmp_path):
    keras.utils.set_random_seed(0)
    (x, _), _ = mnist_small
    # 14 x 14 digits: a quarter of the pixels to draw one by one.
    images = (x[:64, ::2, ::2] > 0.5).astype("float32")
    networks = vae_tf.build_encoder_decoder("mlp", 2, image_shape=(14, 14, 1))
    head = build_pixelcnn((14, 14, 1), layers_count=2, filters=8)
    model = vae_tf.VAE(*networks, pixelcnn=head, seed=0)
    # Two replicas: the head is a part of each example's loss, as test_variants checks.
    run_variant_test(model, images, tmp_path=tmp_path, mirrored=False)
    # Decoding draws: seeded, repeatable, and the pixels' probabilities are in [0, 1].
    z = np.zeros((2, 2), "float32")
    first, again = model.decode(z, seed=3), model.decode(z, seed=3)
    np.testing.assert_array_equal(numpy(first), numpy(again))
    assert not np.array_equal(numpy(first), numpy(model.decode(z, seed=4)))


def test_the_layers_configs_round_trip_and_samples_draw_new_pixels_at_each_call():
    layer = MaskedConv2D(4, 5, mask_type="A")
    assert MaskedConv2D.from_config(layer.get_config()).get_config() == layer.get_config()
    head = build_pixelcnn((6, 5, 1), layers_count=2, filters=4)
    copy = keras.Model.from_config(head.get_config())
    assert [w.shape for w in copy.weights] == [w.shape for w in head.weights]
    networks = vae_tf.build_encoder_decoder("mlp", 2, image_shape=(6, 5, 1))
    model = vae_tf.VAE(*networks, pixelcnn=randomized(head), seed=0)
    z = np.zeros((4, 2), "float32")
    # decode is deterministic (seed 0, the SavedModel's serving default); sample is not.
    np.testing.assert_array_equal(numpy(model.decode(z)), numpy(model.decode(z)))
    first, second = numpy(model.sample(4)), numpy(model.sample(4))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(numpy(model.sample(4, seed=3)), numpy(model.sample(4, seed=3)))
