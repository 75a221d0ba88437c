import csv
import importlib.util
import json
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags
from conftest import run_python

import vae_tf

ARTIFACTS = {
    "config.json",
    "history.csv",
    "vae.keras",
    "saved_model",
    "encoder.png",
    "decoder.png",
    "loss.png",
    "latent_grid.png",
    "latent_scatter.png",
    "reconstructions.png",
    "samples.png",
    "interpolation.png",
    "latent_traversal.png",
}


@pytest.mark.slow
def test_train_script_writes_every_artifact(tmp_path):
    run_dir = tmp_path / "run"
    result = run_python(
        [
            "scripts/train.py",
            "--latent_dim=2",
            "--epochs=2",
            "--steps_per_epoch=3",
            "--batch_size=32",
            f"--output_dir={run_dir}",
        ]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Total params: 69,076" in result.stdout  # the summaries
    assert f"Run written to {run_dir}" in result.stdout
    assert ARTIFACTS <= set(os.listdir(run_dir))
    assert not os.path.exists(f"{run_dir}.partial")
    config = json.loads((run_dir / "config.json").read_text())
    assert config["latent_dim"] == 2 and config["epochs"] == 2
    assert config["output_dir"] == str(run_dir) and "tensorflow" in config["versions"]
    with open(run_dir / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    for key in (
        "loss",
        "total_loss",
        "reconstruction_loss",
        "kl_loss",
        "val_total_loss",
        "epoch_seconds",
    ):
        assert np.isfinite(float(rows[-1][key]))
    model = keras.saving.load_model(run_dir / "vae.keras")
    saved = tf.saved_model.load(str(run_dir / "saved_model"))
    z = np.array([[0.5, -1.0]], "float32")
    np.testing.assert_allclose(saved.decode(z), model.decode(z), atol=1e-6)
    for png in ARTIFACTS - {"config.json", "history.csv", "vae.keras", "saved_model"}:
        assert (run_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_without_2d_latent_skips_the_grid(tiny_run):
    result = tiny_run(latent_dim=3, steps_per_epoch=2, train_on_all=True)
    files = set(os.listdir(result.run_dir))
    assert ARTIFACTS - {"latent_grid.png"} <= files and "latent_grid.png" not in files
    assert "val_loss" not in result.history  # all 70,000 images train
    assert result.model.latent_dim == 3


@pytest.fixture(scope="module")
def train_flags():
    """train.py's flag definitions, loaded in this process (not run)."""
    spec = importlib.util.spec_from_file_location("train_script", "scripts/train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FLAGS


@pytest.mark.parametrize(
    "flag, message",
    [
        ("--latent_dim=0", "flag --latent_dim=0"),
        ("--architecture=resnet", "flag --architecture=resnet"),
        ("--learning_rate=-1", "--learning_rate must be > 0"),
        ("--mixed_precision=float8", "flag --mixed_precision=float8"),
        ("--epochs=abc", "flag --epochs=abc"),
        ("--beta=-0.5", "flag --beta=-0.5"),
    ],
)
def test_bad_flags_are_refused_by_name(train_flags, flag, message):
    with pytest.raises(flags.Error, match=re.escape(message)):
        train_flags(["train.py", flag])


@pytest.mark.slow
def test_bad_flag_stops_the_script_with_its_message():
    result = run_python(["scripts/train.py", "--latent_dim=0"])
    assert result.returncode != 0
    assert "flag --latent_dim=0: 0 is not a positive integer" in result.stderr


@pytest.mark.slow
def test_existing_run_directory_is_never_overwritten(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "precious.txt").write_text("keep me")
    result = run_python(["scripts/train.py", f"--output_dir={run_dir}", "--epochs=1"])
    assert result.returncode == 2
    assert "already exists and is not empty" in result.stderr
    # The library says resume=True and overwrite=True; the script names its flags.
    assert "--resume" in result.stderr and "--overwrite" in result.stderr
    assert os.listdir(run_dir) == ["precious.txt"]


def test_config_validation_names_the_field():
    for field, value in [
        ("epochs", 0),
        ("batch_size", -2),
        ("beta", float("nan")),
        ("jit_compile", "yes"),
        ("architecture", "vit"),
        ("seed", -1),
    ]:
        with pytest.raises(ValueError, match=field):
            vae_tf.TrainConfig(**{field: value}).validate()


def test_short_epochs_never_run_out_of_data(tiny_run):
    # 3 batches per pass, 2 steps per epoch, 4 epochs: 8 steps need a repeated dataset.
    result = tiny_run(epochs=4, steps_per_epoch=2, batch_size=20000)
    assert int(result.model.optimizer.iterations.numpy()) == 8
    assert len(result.history["loss"]) == 4 and np.all(np.isfinite(result.history["loss"]))
