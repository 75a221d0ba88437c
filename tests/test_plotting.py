import os

import keras
import numpy as np
import pytest
from conftest import PLAIN_FIGURES

import vae_tf
from vae_tf import plotting
from vae_tf.utils.images import tile_images


def test_tile_images_places_images_row_by_row():
    images = np.arange(6, dtype="float32").reshape(6, 1, 1, 1) * np.ones((6, 2, 3, 1))
    canvas = plotting.tile_images(images, rows=2, cols=3)
    assert canvas.shape == (4, 9, 1)
    assert canvas[0, 0, 0] == 0 and canvas[0, 3, 0] == 1 and canvas[2, 0, 0] == 3
    assert canvas[3, 8, 0] == 5
    # The one tiling of the figures, TensorBoard and the explorer: cols alone pads with black.
    assert plotting.tile_images is tile_images
    padded = tile_images(images[:4] + 1, cols=3)
    assert padded.shape == (4, 9, 1)
    assert padded[2, 0, 0] == 4 and (padded[2:, 3:] == 0).all()
    with pytest.raises(ValueError, match="Need 6 images for a 2x3 grid; got 4"):
        tile_images(images[:4], 2, 3)


def test_latent_grid_coordinates_follow_the_axes():
    z = plotting.latent_grid_coordinates(n=3, z_range=(-1.0, 1.0))
    np.testing.assert_allclose(z[:3, 0], [-1, 0, 1])
    # Top-left is (low z0, high z1); bottom-right is (high z0, low z1).
    np.testing.assert_allclose(z[0], [-1, 1])
    np.testing.assert_allclose(z[2], [1, 1])
    np.testing.assert_allclose(z[-1], [1, -1])
    assert z.shape == (9, 2)


class CountingVAE(vae_tf.VAE):
    decode_calls = 0

    def decode(self, z, labels=None):
        CountingVAE.decode_calls += 1
        return super().decode(z, labels)


def test_latent_grid_decodes_in_one_batched_call():
    vae = CountingVAE(*vae_tf.build_encoder_decoder("conv", 2))
    fig = plotting.latent_grid_figure(vae, n=30, z_range=(-3, 3))
    assert CountingVAE.decode_calls == 1
    (ax,) = fig.axes
    assert ax.get_xlabel() == "z[0]" and ax.get_ylabel() == "z[1]"
    (image,) = ax.get_images()
    assert image.get_array().shape == (30 * 28, 30 * 28)
    assert ax.get_xticklabels()[0].get_text() == "-3.00"


def test_latent_grid_needs_a_two_dimensional_latent_space():
    vae = vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", 3))
    with pytest.raises(ValueError, match="latent_dim=3"):
        plotting.latent_grid_figure(vae)


def test_loss_curves_show_train_and_validation():
    history = {
        "total_loss": [3.0, 2.0],
        "val_total_loss": [3.5, 2.5],
        "reconstruction_loss": [2.0, 1.5],
        "val_reconstruction_loss": [2.5, 2.0],
        "kl_loss": [1.0, 0.5],
        "val_kl_loss": [1.0, 0.5],
    }
    fig = plotting.loss_curves_figure(history)
    assert len(fig.axes) == 3
    for ax in fig.axes:
        assert [line.get_label() for line in ax.get_lines()] == ["train", "validation"]
        assert ax.get_xlabel() == "epoch"
    np.testing.assert_array_equal(fig.axes[0].get_lines()[1].get_ydata(), [3.5, 2.5])
    only_train = plotting.loss_curves_figure({k: v for k, v in history.items() if "val" not in k})
    assert len(only_train.axes[0].get_lines()) == 1


def test_model_diagram_falls_back_to_dot_source_without_graphviz(tmp_path, monkeypatch, capsys):
    def no_graphviz(*args, **kwargs):
        raise ImportError("You must install graphviz")

    monkeypatch.setattr(keras.utils, "plot_model", no_graphviz)
    encoder = vae_tf.build_encoder("mlp", 2)
    written = plotting.save_model_diagram(encoder, str(tmp_path / "encoder.png"))
    assert written.endswith("encoder.dot")
    assert "digraph" in (tmp_path / "encoder.dot").read_text()
    assert "Graphviz not found" in capsys.readouterr().out
    assert not (tmp_path / "encoder.png").exists()


@pytest.fixture(scope="module")
def models():
    return {d: vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", d), seed=0) for d in (1, 2, 3, 5)}


@pytest.fixture(scope="module")
def digits():
    (x, y), _ = vae_tf.data.load_mnist()
    return x[:300], y[:300]


def test_quantile_spacing_follows_the_inverse_normal_cdf():
    values = plotting.grid_axis_values(3, (0.05, 0.95), spacing="quantile")
    np.testing.assert_allclose(values, [-1.6448536, 0.0, 1.6448536], atol=1e-6)
    z = plotting.latent_grid_coordinates(3, (0.05, 0.95), spacing="quantile")
    np.testing.assert_allclose(z[0], [-1.6448536, 1.6448536], atol=1e-6)
    with pytest.raises(ValueError, match="probabilities"):
        plotting.grid_axis_values(3, (-2, 2), spacing="quantile")
    with pytest.raises(ValueError, match="spacing"):
        plotting.grid_axis_values(3, (0, 1), spacing="log")


def test_latent_grid_ticks_name_the_latent_values(models):
    fig = plotting.latent_grid_figure(models[2], n=5, z_range=(-1.0, 1.0))
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["-1.00", "-0.50", "0.00", "0.50", "1.00"]
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "1.00"  # top row: highest z[1]
    np.testing.assert_allclose(ax.get_xticks(), [13.5, 41.5, 69.5, 97.5, 125.5])


def test_pca_finds_the_principal_axes():
    rng = np.random.default_rng(0)
    directions = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    scales = np.array([5.0, 2.0, 0.5, 0.1, 0.1])
    points = (rng.normal(size=(4000, 5)) * scales) @ directions.T + 3.0
    projection, ratios = plotting.pca(points)
    centered = points - points.mean(axis=0)
    for i in range(2):  # each component matches its true direction up to sign
        expected = centered @ directions[:, i]
        assert abs(np.corrcoef(projection[:, i], expected)[0, 1]) > 0.999
    np.testing.assert_allclose(ratios, scales[:2] ** 2 / np.sum(scales**2), rtol=0.05)


@pytest.mark.parametrize("latent_dim, panels", [(1, 1), (2, 1), (3, 3), (5, 1)])
def test_latent_scatter_panels_and_colour_bar(models, digits, latent_dim, panels):
    images, labels = digits
    fig = plotting.latent_scatter_figure(models[latent_dim], images, labels, method="pca")
    plots = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(plots) == panels and len(fig.axes) == panels + 1  # + the colour bar
    if latent_dim == 5:
        assert plots[0].get_xlabel().startswith("PC1")
    no_labels = plotting.latent_scatter_figure(models[latent_dim], images, method="pca")
    assert len(no_labels.axes) == panels


def test_reconstructions_show_originals_over_reconstructions(models, digits):
    images, _ = digits
    fig = plotting.reconstructions_figure(models[2], images[:7])
    assert [ax.get_ylabel() for ax in fig.axes] == ["original", "reconstruction"]
    originals = fig.axes[0].get_images()[0].get_array()
    assert originals.shape == (28, 7 * 28)
    np.testing.assert_array_equal(originals[:, :28], images[0, ..., 0])


def test_samples_grid_size(models):
    fig = plotting.samples_figure(models[3], rows=4, cols=6, seed=0)
    assert fig.axes[0].get_images()[0].get_array().shape == (4 * 28, 6 * 28)


def test_linear_and_spherical_interpolation():
    a, b = np.array([[1.0, 0.0]]), np.array([[0.0, 2.0]])
    t = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(plotting.lerp(a, b, t)[0], [[1, 0], [0.5, 1], [0, 2]])
    spherical = plotting.slerp(a, b, t)[0]
    np.testing.assert_allclose(spherical[[0, 2]], [[1, 0], [0, 2]], atol=1e-12)
    # Codes 90 degrees apart: sin(pi/4) (a + b) half way (White, 2016).
    np.testing.assert_allclose(spherical[1], np.sin(np.pi / 4) * (a[0] + b[0]))
    unit = plotting.slerp(a, np.array([[0.0, 1.0]]), t)[0]  # equal norms stay on the circle
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0)
    parallel = plotting.slerp(a, 3 * a, t)[0]  # no circle: falls back to linear
    np.testing.assert_allclose(parallel, plotting.lerp(a, 3 * a, t)[0])


def test_interpolation_rows_per_pair(models, digits):
    images, _ = digits
    fig = plotting.interpolation_figure(models[2], images[:3], images[3:6], steps=8)
    assert len(fig.axes) == 6  # linear and spherical rows for 3 pairs
    strip = fig.axes[0].get_images()[0].get_array()
    assert strip.shape == (28, 10 * 28)  # start, 8 steps, end
    np.testing.assert_array_equal(strip[:, :28], images[0, ..., 0])
    np.testing.assert_array_equal(strip[:, -28:], images[3, ..., 0])


def test_latent_traversal_one_row_per_dimension(models, digits):
    images, _ = digits
    fig = plotting.latent_traversal_figure(models[5], images[:50], max_dims=4, steps=7)
    (ax,) = fig.axes
    assert ax.get_images()[0].get_array().shape == (4 * 28, 7 * 28)
    assert len(ax.get_yticklabels()) == 4 and ax.get_yticklabels()[0].get_text().startswith("z[")


def test_write_figures_fits_the_model(tmp_path, models, digits):
    images, labels = digits
    history = {"total_loss": [2.0, 1.0], "reconstruction_loss": [1.5, 0.8], "kl_loss": [0.5, 0.2]}
    paths = plotting.write_figures(models[2], tmp_path, images, labels, history)
    assert [os.path.basename(p) for p in paths] == [f"{n}.png" for n in PLAIN_FIGURES]
    ten = plotting.default_figures(models[5], history)
    assert "latent_grid" not in ten and "latent_traversal" in ten
    with pytest.raises(ValueError, match="latent_dim=5"):
        plotting.write_figures(models[5], tmp_path, images, figures=["latent_grid"])
    with pytest.raises(ValueError, match="Unknown figure"):
        plotting.write_figures(models[2], tmp_path, images, figures=["manifold"])
    with pytest.raises(ValueError, match="history"):
        plotting.write_figures(models[2], tmp_path, images, figures=["loss"])
    with pytest.raises(ValueError, match="needs a conditional VAE"):
        plotting.write_figures(models[2], tmp_path, images, figures=["style_grid"])
    assert not [p for p in os.listdir(tmp_path) if "partial" in p]


def test_loss_curves_show_a_scheduled_kl_weight():
    history = {
        "total_loss": [3.0, 2.0],
        "reconstruction_loss": [2.0, 1.5],
        "kl_loss": [1.0, 0.5],
        "kl_weight": [0.25, 0.75],
    }
    fig = plotting.loss_curves_figure(history, units="squared error per example (not nats)")
    assert len(fig.axes) == 4  # a second axis on the KL panel
    np.testing.assert_array_equal(fig.axes[3].get_lines()[0].get_ydata(), [0.25, 0.75])
    assert fig.axes[0].get_ylabel() == "squared error per example (not nats)"
    constant = plotting.loss_curves_figure({**history, "kl_weight": [1.0, 1.0]})
    assert len(constant.axes) == 3


def test_model_comparison_puts_codes_and_samples_side_by_side(models, digits):
    images, labels = digits
    ae = vae_tf.Autoencoder(*vae_tf.build_encoder_decoder("mlp", 2, variational=False))
    fig = plotting.model_comparison_figure(
        {"autoencoder": ae, "VAE": models[2], "VAE 5-D": models[5]}, images, labels
    )
    scatter_axes = [ax for ax in fig.axes if ": codes of" in ax.get_title()]
    assert len(scatter_axes) == 3 and len(fig.axes) == 6 + 3  # + colour bars
    assert scatter_axes[0].get_title().startswith("autoencoder: codes of 300")
    assert "PCA" in scatter_axes[2].get_title()
    assert len(scatter_axes[1].collections[0].get_offsets()) == 300


def test_sweep_figure_panels():
    rows = [
        {
            "latent_dim": d,
            "beta": b,
            "reconstruction": 100 / b + d,
            "kl": 10 * b,
            "nll": 90.0 + b,
            "active_units": d,
        }
        for d in (2, 10)
        for b in (0.5, 1.0, 4.0)
    ]
    fig = plotting.sweep_figure(rows)
    rate, nll, units = fig.axes
    assert [line.get_label() for line in rate.get_lines()] == ["latent 2", "latent 10"]
    np.testing.assert_allclose(nll.get_lines()[1].get_ydata(), [90.5, 91.0, 94.0])
    np.testing.assert_allclose(rate.get_lines()[0].get_xdata(), [5.0, 10.0, 40.0])
    assert [tick.get_text() for tick in units.get_xticklabels()] == ["0.5", "1", "4"]
