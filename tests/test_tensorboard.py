"""TensorBoard: scalars, per-epoch images and the projector of a run, read back from its files."""

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request

import keras
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins import projector

import vae_tf
from vae_tf import latent
from vae_tf.callbacks import StepProgressBar
from vae_tf.callbacks import TensorBoardImages
from vae_tf.utils.images import tile_images
from vae_tf.utils.images import to_uint8


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_run):
    # A folder of its own named "run": TensorBoard is served the folder around it.
    output_dir = tmp_path_factory.mktemp("tb") / "run"
    return tiny_run(output_dir=output_dir, epochs=2, steps_per_epoch=6, seed=5)


def events(log_dir):
    accumulator = EventAccumulator(log_dir, size_guidance={"tensors": 0})
    accumulator.Reload()
    return accumulator


def image_at(accumulator, tag, step):
    """The PNG of an image summary at `step`, decoded: `(H, W, C)` uint8."""
    (event,) = [e for e in accumulator.Tensors(tag) if e.step == step]
    width, height, png = tf.make_ndarray(event.tensor_proto)
    pixels = np.asarray(Image.open(io.BytesIO(png)))
    assert pixels.shape[:2] == (int(height), int(width))
    return pixels[..., None] if pixels.ndim == 2 else pixels


def test_scalars_per_epoch(run):
    train = events(os.path.join(run.run_dir, "logs", "train"))
    validation = events(os.path.join(run.run_dir, "logs", "validation"))
    for accumulator in (train, validation):
        tags = accumulator.Tags()["tensors"]
        for name in ("epoch_total_loss", "epoch_reconstruction_loss", "epoch_kl_loss"):
            assert name in tags
    values = [float(tf.make_ndarray(e.tensor_proto)) for e in train.Tensors("epoch_total_loss")]
    np.testing.assert_allclose(values, run.history["total_loss"], rtol=1e-5)


def test_images_every_epoch_match_the_final_model(run):
    accumulator = events(os.path.join(run.run_dir, "logs", "images"))
    for tag in ("samples", "reconstructions", "latent_grid"):
        assert [e.step for e in accumulator.Tensors(tag)] == [1, 2], tag
    model = vae_tf.load_run(run.run_dir).model
    # The same prior codes every epoch: the last epoch's are the final model's samples.
    codes = latent.prior_codes(model, 64, 5)
    expected = to_uint8(tile_images(np.asarray(model.decode(codes)), cols=8))
    actual = image_at(accumulator, "samples", 2)
    assert np.abs(actual.astype(int) - expected).max() <= 1  # TF rounds x * 255.5 down
    assert not np.array_equal(image_at(accumulator, "samples", 1), actual)
    images, _ = vae_tf.runs.split_images(vae_tf.runs.read_config(run.run_dir), "test", 8)
    reconstructions = image_at(accumulator, "reconstructions", 2)
    assert reconstructions.shape == (56, 8 * 28, 1)
    assert (
        np.abs(reconstructions[:28].astype(int) - to_uint8(tile_images(images, cols=8))).max() <= 1
    )
    expected_recon = to_uint8(tile_images(np.asarray(model.reconstruct(images)), cols=8))
    assert np.abs(reconstructions[28:].astype(int) - expected_recon).max() <= 1
    grid = image_at(accumulator, "latent_grid", 2)
    assert grid.shape == (15 * 28, 15 * 28, 1)


def test_projector_of_the_encoded_validation_images(run):
    folder = os.path.join(run.run_dir, "logs", "projector")
    with open(os.path.join(folder, "projector_config.pbtxt")) as f:
        config = text_format.Parse(f.read(), projector.ProjectorConfig())
    (embedding,) = config.embeddings
    codes = np.loadtxt(os.path.join(folder, embedding.tensor_path), delimiter="\t")
    images, labels = vae_tf.runs.split_images(vae_tf.runs.read_config(run.run_dir), "test", 1000)
    model = vae_tf.load_run(run.run_dir).model
    np.testing.assert_allclose(
        codes[:, :2], latent.encode_means(model, images), rtol=1e-5, atol=1e-5
    )
    # 2-D codes get a zero third column: the projector's PCA needs three.
    assert codes.shape == (1000, 3) and not codes[:, 2].any()
    with open(os.path.join(folder, embedding.metadata_path)) as f:
        assert [int(line) for line in f] == labels.tolist()
    sprite = np.asarray(Image.open(os.path.join(folder, embedding.sprite.image_path)))
    assert list(embedding.sprite.single_image_dim) == [28, 28]
    assert sprite.shape[:2] == (32 * 28, 32 * 28)  # ceil(sqrt(1000)) = 32 a side
    row, col = divmod(37, 32)
    tile_37 = sprite[row * 28 : (row + 1) * 28, col * 28 : (col + 1) * 28]
    np.testing.assert_array_equal(tile_37, to_uint8(images[37])[..., 0])


def test_conditional_latent_grids_per_class(tmp_path, mnist_small):
    (x, y), _ = mnist_small
    encoder, decoder = vae_tf.build_encoder_decoder("mlp", 2, num_classes=10)
    model = vae_tf.VAE(encoder, decoder, num_classes=10)
    model.compile(optimizer="adam")
    log_dir = str(tmp_path / "images")
    model.fit(
        x[:128],
        y[:128],
        epochs=1,
        batch_size=64,
        verbose=0,
        callbacks=[TensorBoardImages(log_dir, x[:4], y[:4], grid_size=3)],
    )
    accumulator = events(log_dir)
    tags = set(accumulator.Tags()["tensors"])
    assert {f"latent_grid/label_{k}" for k in range(10)} <= tags
    assert image_at(accumulator, "samples", 1).shape == (10 * 28, 8 * 28, 1)  # a row per class


def test_progress_bar_ends_at_the_epochs_steps(capsys):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=5)
    x = np.zeros((7 * 4, 3), "float32")
    model.fit(x, x[:, :1], batch_size=4, epochs=2, verbose=1, callbacks=[StepProgressBar()])
    out = capsys.readouterr().out
    assert "7/7" in out and "10/7" not in out


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_tensorboard_serves_scalars_images_and_the_projector(run):
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            f"--logdir={os.path.dirname(run.run_dir)}",
            "--host=127.0.0.1",
            f"--port={port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def get(path):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
            return response.read().decode()

    try:
        for _ in range(120):
            try:
                get("/data/logdir")
                break
            except OSError:
                time.sleep(0.5)
        deadline = time.time() + 60
        while "run/logs/images" not in get("/data/plugin/images/tags") and time.time() < deadline:
            time.sleep(0.5)
        assert "samples" in get("/data/plugin/images/tags")
        assert "epoch_total_loss" in get("/data/plugin/scalars/tags")
        assert "run/logs/projector" in get("/data/plugin/projector/runs")
    finally:
        process.terminate()
        process.wait(timeout=30)
