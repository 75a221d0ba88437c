import keras
import numpy as np
import pytest

import vae_tf
from vae_tf import plotting


def test_tile_images_places_images_row_by_row():
    images = np.arange(6, dtype="float32").reshape(6, 1, 1, 1) * np.ones((6, 2, 3, 1))
    canvas = plotting.tile_images(images, rows=2, cols=3)
    assert canvas.shape == (4, 9, 1)
    assert canvas[0, 0, 0] == 0 and canvas[0, 3, 0] == 1 and canvas[2, 0, 0] == 3
    assert canvas[3, 8, 0] == 5


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

    def decode(self, z):
        CountingVAE.decode_calls += 1
        return super().decode(z)


def test_latent_grid_decodes_in_one_batched_call():
    vae = CountingVAE(*vae_tf.build_encoder_decoder("conv", 2))
    fig = plotting.latent_grid_figure(vae, n=30, z_range=(-3, 3))
    assert CountingVAE.decode_calls == 1
    (ax,) = fig.axes
    assert ax.get_xlabel() == "z[0]" and ax.get_ylabel() == "z[1]"
    (image,) = ax.get_images()
    assert image.get_array().shape == (30 * 28, 30 * 28)
    low, high = -3 - 6 / 29 / 2, 3 + 6 / 29 / 2
    np.testing.assert_allclose(image.get_extent(), [low, high, low, high])


def test_latent_grid_needs_a_two_dimensional_latent_space():
    vae = vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", 3))
    with pytest.raises(ValueError, match="latent_dim=3"):
        plotting.latent_grid_figure(vae)


def test_loss_curves_show_train_and_validation():
    history = {
        "total_loss": [3.0, 2.0], "val_total_loss": [3.5, 2.5],
        "reconstruction_loss": [2.0, 1.5], "val_reconstruction_loss": [2.5, 2.0],
        "kl_loss": [1.0, 0.5], "val_kl_loss": [1.0, 0.5],
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
