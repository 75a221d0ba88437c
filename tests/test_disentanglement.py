"""The generated shapes dataset, the mutual information gap, and a run on shapes."""

import json
import math
import os

import numpy as np
import pytest

import vae_tf
from vae_tf import plotting
from vae_tf.data import shapes
from vae_tf.metrics import disentanglement
from vae_tf.runs import disentanglement_run


def test_shapes_are_drawn_from_their_factors():
    images, factors = shapes.make_shapes(400, seed=3)
    assert images.shape == (400, 64, 64, 1) and images.dtype == np.float32
    assert set(np.unique(images)) == {0.0, 1.0}
    again, same = shapes.make_shapes(400, seed=3)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(factors, same)
    assert not np.array_equal(factors, shapes.make_shapes(400, seed=4)[1])
    assert factors.min(axis=0).tolist() == [0] * 5
    assert (factors.max(axis=0) < shapes.FACTOR_SIZES).all()
    np.testing.assert_array_equal(images, shapes.render_shapes(factors))

    def draw(*factor):
        return shapes.render_shapes(np.array([factor]))[0, ..., 0]

    def centre(image):
        rows, columns = np.nonzero(image)
        return rows.mean(), columns.mean()

    # Scale: the area grows with the square of the scale (0.5 to 1: about 4x).
    small, large = draw(0, 0, 0, 16, 16).sum(), draw(0, 5, 0, 16, 16).sum()
    assert large / small == pytest.approx(4, rel=0.15)
    # x moves the shape right, y down, in whole pixels; nothing leaves the image.
    left, right = centre(draw(2, 5, 0, 0, 16)), centre(draw(2, 5, 0, 31, 16))
    assert right[1] - left[1] == pytest.approx(37, abs=1) and right[0] == pytest.approx(left[0])
    top, bottom = centre(draw(1, 5, 3, 16, 0)), centre(draw(1, 5, 3, 16, 31))
    assert bottom[0] - top[0] == pytest.approx(37, abs=1)
    for corner in ((0, 5, 5, 0, 0), (2, 5, 20, 31, 31), (1, 5, 10, 0, 31)):
        image = draw(*corner)
        assert image.sum() > 50 and not image[[0, -1]].any() and not image[:, [0, -1]].any()
    # Orientation: the ellipse lies along x at 0, along y a quarter turn (10 of 40) later.
    flat, upright = draw(1, 5, 0, 16, 16), draw(1, 5, 10, 16, 16)
    assert np.ptp(np.nonzero(flat)[1]) > 1.8 * np.ptp(np.nonzero(flat)[0])
    # (Up to the round-off of cos and sin on pixels exactly on the boundary.)
    assert np.sum(upright != flat.T) <= 4
    # The three shapes of one size differ.
    square, ellipse, heart = (draw(s, 5, 0, 16, 16) for s in range(3))
    assert square.sum() > heart.sum() > ellipse.sum()
    with pytest.raises(ValueError, match="factor indices must be in"):
        shapes.render_shapes(np.array([[3, 0, 0, 0, 0]]))
    with pytest.raises(ValueError, match=r"shape \(N, 5\)"):
        shapes.render_shapes(np.zeros((2, 4), int))


def test_entropy_and_mutual_information_match_closed_forms():
    rng = np.random.default_rng(0)
    uniform = rng.integers(0, 8, 200000)
    assert disentanglement.entropy(uniform) == pytest.approx(math.log(8), abs=1e-3)
    assert disentanglement.mutual_information(uniform, uniform) == pytest.approx(
        disentanglement.entropy(uniform)
    )
    independent = rng.integers(0, 5, 200000)
    # The plug-in estimate's bias is about (8-1)(5-1)/(2N) nats.
    assert disentanglement.mutual_information(uniform, independent) < 2e-4
    # A noisy copy: I = H(b) - H(b|a) with b = a, or a uniform other value w.p. 0.3.
    flip = rng.random(200000) < 0.3
    noisy = np.where(flip, rng.integers(0, 8, 200000), uniform)
    p_same = 0.7 + 0.3 / 8
    conditional = -(p_same * math.log(p_same) + 7 * (0.3 / 8) * math.log(0.3 / 8))
    assert disentanglement.mutual_information(uniform, noisy) == pytest.approx(
        math.log(8) - conditional, abs=3e-3
    )


def test_mig_is_near_one_for_a_copy_of_the_factors_and_near_zero_for_noise():
    rng = np.random.default_rng(1)
    sizes = (3, 6, 10, 16, 16)
    factors = np.stack([rng.integers(0, size, 20000) for size in sizes], axis=1)
    # Each factor in a dimension of its own (scaled, shifted, slightly noisy), two dead ones.
    copy = np.concatenate(
        [
            factors * [0.5, -2.0, 1.0, 0.1, 3.0] + rng.normal(0, 1e-3, factors.shape),
            rng.normal(size=(20000, 2)) * 1e-3,
        ],
        axis=1,
    )
    result = disentanglement.mutual_information_gap(copy, factors, factor_names=list("abcde"))
    assert result["mig"] > 0.97 and (result["gaps"] > 0.95).all()
    assert result["best_dimensions"].tolist() == [0, 1, 2, 3, 4]
    assert result["mutual_information"].shape == (7, 5)
    np.testing.assert_allclose(result["entropies"], np.log(sizes), atol=0.01)
    noise = rng.normal(size=(20000, 7))
    assert disentanglement.mutual_information_gap(noise, factors)["mig"] < 0.02
    # One factor in two dimensions: no gap for it; the others keep theirs.
    twice = copy.copy()
    twice[:, 5] = copy[:, 0] * 2
    gaps = disentanglement.mutual_information_gap(twice, factors)["gaps"]
    assert gaps[0] < 0.01 and (gaps[1:] > 0.95).all()
    # A rotation mixes two factors over two dimensions: the gaps of both fall.
    mixed = copy.copy()
    mixed[:, 3], mixed[:, 4] = factors[:, 3] + factors[:, 4], factors[:, 3] - factors[:, 4]
    assert disentanglement.mutual_information_gap(mixed, factors)["gaps"][3:].max() < 0.5
    # dSprites' sizes: 20 bins carry at most log 20 of a 40-value factor.
    orientation = rng.integers(0, 40, (20000, 1))
    code = np.concatenate(
        [orientation + rng.normal(0, 1e-3, (20000, 1)), rng.normal(size=(20000, 1))], axis=1
    )
    gap = disentanglement.mutual_information_gap(code, orientation)["gaps"][0]
    assert gap == pytest.approx(math.log(20) / math.log(40), abs=0.02)
    with pytest.raises(ValueError, match="integer"):
        disentanglement.mutual_information_gap(copy, factors + 0.5)
    with pytest.raises(ValueError, match="No factor varies"):
        disentanglement.mutual_information_gap(copy, np.zeros((20000, 2), int))
    with pytest.raises(ValueError, match="shape"):
        disentanglement.mutual_information_gap(copy, factors[:10])


def test_a_run_on_shapes_is_measured_and_drawn_per_factor(tmp_path, tiny_run):
    result = tiny_run(dataset="shapes", latent_dim=4, steps_per_epoch=20)
    run_dir = result.run_dir
    assert os.path.isfile(os.path.join(run_dir, "factor_traversal.png"))
    source = vae_tf.data.get_source("shapes")
    assert source.image_shape == (64, 64, 1) and source.num_classes == 3
    (_, y_train), (x_test, y_test) = source.load()
    factors = source.factors("test")
    assert len(y_train) == shapes.TRAIN_COUNT and factors.shape == (shapes.TEST_COUNT, 5)
    np.testing.assert_array_equal(y_test, factors[:, 0])
    np.testing.assert_array_equal(x_test[:50], shapes.render_shapes(factors[:50]))
    measured = disentanglement_run(run_dir, num_examples=1000, seed=2)
    codes = vae_tf.latent.encode_means(result.model, x_test[:1000])
    expected = disentanglement.disentanglement_metrics(codes, factors[:1000], seed=2)
    for key in disentanglement.METRIC_KEYS:
        assert measured[key] == pytest.approx(expected[key]), key
        assert 0 <= measured[key] <= 1, (key, measured[key])
    assert list(measured["mig_per_factor"]) == list(shapes.FACTOR_NAMES)
    assert set(measured["disentanglement_seconds"]) == set(expected["seconds"])
    assert measured["disentanglement_examples"] == 1000
    figure = plotting.factor_traversal_figure(
        result.model, x_test[:500], factors[:500], shapes.FACTOR_NAMES, steps=5
    )
    assert len(figure.axes) == 5
    assert figure.axes[0].get_images()[0].get_array().shape == (64, 5 * 64)
    # The same run's settings on MNIST: refused before any model is loaded.
    mnist_run = tmp_path / "mnist"
    mnist_run.mkdir()
    with open(os.path.join(run_dir, "config.json")) as f:
        config = json.load(f)
    (mnist_run / "config.json").write_text(json.dumps({**config, "dataset": "mnist"}))
    with pytest.raises(ValueError, match="mnist has no known factors.*--dataset=shapes"):
        disentanglement_run(str(mnist_run))
    with pytest.raises(ValueError, match="known factors"):
        plotting.write_figures(result.model, tmp_path, x_test[:20], figures=["factor_traversal"])
