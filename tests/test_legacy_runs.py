"""Files written before the restructuring (vae_tf c25fd95) still load, evaluate and resume.

tests/data/legacy holds run directories, an interrupted run's checkpoint and
the numbers that code computed from them (see its make_legacy_runs.py).
"""

import os
import shutil

import keras
import numpy as np
import pytest
from conftest import REPO

import vae_tf
from vae_tf.callbacks import TrainingCheckpoint
from vae_tf.runs import TrainConfig

LEGACY = os.path.join(REPO, "tests", "data", "legacy")
EXPECTED = np.load(os.path.join(LEGACY, "expected.npz"))


@pytest.fixture
def legacy(tmp_path, monkeypatch):
    """A copy of the legacy runs, as the current directory (their dataset path is relative)."""
    shutil.copytree(LEGACY, tmp_path, dirs_exist_ok=True)
    os.rename(tmp_path / "interrupted_partial", tmp_path / "interrupted.partial")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _assert_weights_of_the_uninterrupted_run(model):
    for i, weight in enumerate(model.weights):
        np.testing.assert_allclose(weight.numpy(), EXPECTED[f"vae_3_weight_{i}"], atol=1e-6)


@pytest.mark.parametrize("name", ["vae", "cvae", "ae"])
def test_legacy_models_load_and_compute_what_they_did(name, legacy):
    run = vae_tf.load_run(f"{name}_run")
    model = run.model
    assert type(model).__name__ == ("Autoencoder" if name == "ae" else "VAE")
    assert len(run.history["total_loss"]) >= 1
    images, z = EXPECTED["images"], EXPECTED["z"]
    labels = EXPECTED["labels"] if model.conditional else None
    np.testing.assert_allclose(model.decode(z, labels), EXPECTED[f"{name}_decode"], atol=1e-6)
    np.testing.assert_allclose(
        model.encode(images, labels)[0], EXPECTED[f"{name}_z_mean"], atol=1e-6
    )
    np.testing.assert_allclose(
        model.reconstruct(images, labels), EXPECTED[f"{name}_reconstruct"], atol=1e-6
    )
    if model.kl_estimate is not None:
        kl = model.per_example_losses(keras.ops.convert_to_tensor(images), labels)["kl"]
        np.testing.assert_allclose(kl, EXPECTED[f"{name}_kl"], rtol=1e-5)
        nll = vae_tf.metrics.evaluate_likelihood(
            model, images, labels, num_samples=8, per_example=True
        )["per_example_nll"]
        np.testing.assert_allclose(nll, EXPECTED[f"{name}_nll"], rtol=1e-5)
    config = vae_tf.runs.read_config(f"{name}_run")
    assert config.dataset == "tiny.npz" and config.epochs in (1, 2)


def test_a_legacy_finished_run_trains_further_to_the_uninterrupted_weights(legacy):
    config = vae_tf.runs.read_config("vae_run")
    further = vae_tf.train(
        TrainConfig(**{**config.settings(), "epochs": 3}), verbose=0, resume=True
    )
    assert len(further.history["total_loss"]) == 3
    _assert_weights_of_the_uninterrupted_run(further.model)


def test_a_legacy_checkpoint_resumes_to_the_uninterrupted_weights(legacy):
    position = TrainingCheckpoint.latest(os.path.join("interrupted.partial", "checkpoint"))
    assert (position["epoch"], position["batch"], position["step"]) == (1, 4, 10)
    config = TrainConfig(
        dataset="tiny.npz",
        latent_dim=2,
        batch_size=16,
        steps_per_execution=1,
        seed=3,
        deterministic=True,
        epochs=3,
        checkpoint_steps=4,
        output_dir="interrupted",
    )
    resumed = vae_tf.train(config, verbose=0)
    assert len(resumed.history["total_loss"]) == 3
    # The rows appended keep to the legacy header (no epoch_seconds), their values aligned.
    assert "epoch_seconds" not in resumed.history
    np.testing.assert_allclose(
        resumed.history["total_loss"],
        np.add(resumed.history["reconstruction_loss"], resumed.history["kl_loss"]),
        rtol=1e-5,
    )
    assert not os.path.exists("interrupted.partial")
    _assert_weights_of_the_uninterrupted_run(resumed.model)
