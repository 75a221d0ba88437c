"""Files written by older versions still load, evaluate and resume, and their SavedModels serve.

tests/data/legacy holds run directories written before the restructuring
(vae_tf c25fd95), an interrupted run's checkpoint and the numbers that code
computed from them (see its make_legacy_runs.py). tests/data/legacy_0_1_0
holds finished runs written by version 0.1.0 (363a26a, the last commit before
the model family of 0.2.0), with their SavedModels, and what 0.1.0 computed
from them (see its make_runs.py).
"""

import json
import os
import shutil

import keras
import numpy as np
import pytest
from conftest import REPO
from conftest import run_python

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


# -- runs written by version 0.1.0 --------------------------------------------

LEGACY_0_1_0 = os.path.join(REPO, "tests", "data", "legacy_0_1_0")
EXPECTED_0_1_0 = np.load(os.path.join(LEGACY_0_1_0, "expected.npz"))
# name: (class today, conditional); each is f"{name}_run" (see make_runs.py).
RUNS_0_1_0 = {
    "vae": ("VAE", False),
    "cvae": ("VAE", True),
    "ae": ("Autoencoder", False),
    "iwae_vamp": ("VAE", False),
    "hvae": ("HierarchicalVAE", False),
}
VARIATIONAL_0_1_0 = ["vae", "cvae", "iwae_vamp", "hvae"]
# Today's code gives 0.1.0's numbers bit for bit on this machine; 1e-6 leaves
# room for nothing but the last bits.
EXACT = dict(rtol=1e-6, atol=1e-6)


@pytest.fixture
def legacy_0_1_0(tmp_path, monkeypatch):
    """A copy of the 0.1.0 runs, as the current directory (their dataset path is relative)."""
    shutil.copytree(LEGACY_0_1_0, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _labels_0_1_0(name):
    return EXPECTED_0_1_0["labels"] if RUNS_0_1_0[name][1] else None


@pytest.mark.parametrize("name", list(RUNS_0_1_0))
def test_0_1_0_runs_load_and_compute_what_they_did(name, legacy_0_1_0):
    run = vae_tf.load_run(f"{name}_run")
    model = run.model
    assert type(model).__name__ == RUNS_0_1_0[name][0]
    assert model.conditional == RUNS_0_1_0[name][1]
    assert len(run.history["total_loss"]) == 2
    config = vae_tf.runs.read_config(f"{name}_run")
    assert config.dataset == "tiny.npz" and config.epochs == 2
    expected = EXPECTED_0_1_0
    images, z, labels = expected["images"], expected["z"], _labels_0_1_0(name)
    np.testing.assert_allclose(model.decode(z, labels), expected[f"{name}_decode"], **EXACT)
    np.testing.assert_allclose(model.encode(images, labels)[0], expected[f"{name}_z_mean"], **EXACT)
    np.testing.assert_allclose(
        model.reconstruct(images, labels), expected[f"{name}_reconstruct"], **EXACT
    )
    # The same seed draws the same images as 0.1.0's SavedModel did (its graph;
    # eager and graph differ by about 1e-7 for the two-layer model).
    if labels is None:
        samples = model.sample(5, seed=7)
    else:
        samples = model.sample(len(labels), seed=7, labels=labels)
    np.testing.assert_allclose(samples, expected[f"{name}_served_sample"], **EXACT)
    if name not in VARIATIONAL_0_1_0:
        assert model.kl_estimate is None
        return
    # The VampPrior's and the two layers' KL are Monte Carlo estimates drawn
    # from the Sampler's generator as loaded: the same draws as 0.1.0's.
    kl = model.per_example_losses(keras.ops.convert_to_tensor(images), labels)["kl"]
    np.testing.assert_allclose(kl, expected[f"{name}_kl"], **EXACT)
    likelihood = vae_tf.metrics.evaluate_likelihood(
        model, images, labels, num_samples=8, seed=0, per_example=True
    )
    np.testing.assert_allclose(likelihood["per_example_nll"], expected[f"{name}_nll"], **EXACT)
    np.testing.assert_allclose(likelihood["per_example_elbo"], expected[f"{name}_elbo"], **EXACT)


@pytest.mark.parametrize("name", VARIATIONAL_0_1_0)
def test_0_1_0_runs_evaluate_as_they_did(name, legacy_0_1_0):
    old = json.loads(str(EXPECTED_0_1_0[f"{name}_evaluation"]))  # 0.1.0's evaluate_run
    new = vae_tf.runs.evaluate_run(f"{name}_run", num_samples=4, num_examples=16, seed=5)
    common = set(old) & set(new)
    assert {"elbo", "reconstruction", "kl", "nll", "k", "num_examples", "active_units"} <= common
    for key in sorted(common):
        if isinstance(old[key], float) or (
            isinstance(old[key], list) and isinstance(old[key][0], float)
        ):
            np.testing.assert_allclose(new[key], old[key], **EXACT, err_msg=key)
        else:
            assert new[key] == old[key], key


@pytest.mark.parametrize("name", list(RUNS_0_1_0))
def test_0_1_0_runs_draw_their_figures(name, legacy_0_1_0):
    # What scripts/visualize.py does, smaller: every figure that fits the model.
    run = vae_tf.load_run(f"{name}_run")
    images, labels = vae_tf.runs.split_images(vae_tf.runs.read_config(f"{name}_run"), "test")
    paths = vae_tf.plotting.write_figures(
        run.model,
        legacy_0_1_0 / "figures",
        images,
        labels,
        run.history,
        grid_size=4,
        num_examples=4,
        grid_labels=[0, 1] if run.model.conditional else None,
    )
    names = {os.path.basename(path) for path in paths}
    assert {"loss.png", "latent_scatter.png", "reconstructions.png", "samples.png"} <= names
    assert ("latent_grid_label0.png" if run.model.conditional else "latent_grid.png") in names
    assert all(os.path.getsize(path) > 1000 for path in paths)


@pytest.mark.parametrize("name", ["vae", "iwae_vamp", "hvae"])
def test_a_0_1_0_finished_run_trains_further_to_the_uninterrupted_weights(name, legacy_0_1_0):
    config = vae_tf.runs.read_config(f"{name}_run")
    old_history = vae_tf.runs.read_history(os.path.join(f"{name}_run", "history.csv"))
    further = vae_tf.train(
        TrainConfig(**{**config.settings(), "epochs": 3}), verbose=0, resume=True
    )
    assert len(further.history["total_loss"]) == 3
    assert further.history["total_loss"][:2] == old_history["total_loss"]
    weights = further.model.weights
    assert len(weights) == len([k for k in EXPECTED_0_1_0.files if k.startswith(f"{name}_3_")])
    # Bit for bit on the machine that wrote them; 1e-6 leaves room for another CPU.
    for i, weight in enumerate(weights):
        np.testing.assert_allclose(
            weight.numpy(), EXPECTED_0_1_0[f"{name}_3_weight_{i}"], atol=1e-6, err_msg=weight.path
        )


# Serves every 0.1.0 SavedModel with TensorFlow alone: vae_tf cannot be imported.
CONSUMER_0_1_0 = """
import sys
from harness import block_vae_tf, serve
block_vae_tf()
import numpy as np
import tensorflow as tf
inputs, outputs, *runs = sys.argv[1:]
arrays = np.load(inputs)
served = {}
for run in runs:
    name, conditional = run.split(":")
    loaded = tf.saved_model.load(f"{name}_run/saved_model")
    labels = arrays["labels"] if conditional == "1" else None
    for key, value in serve(loaded, arrays["images"], arrays["z"], labels, count=5).items():
        served[f"{name}_served_{key}"] = value
np.savez(outputs, **served)
"""


def test_0_1_0_saved_models_serve_without_vae_tf(legacy_0_1_0):
    script = legacy_0_1_0 / "consumer.py"
    script.write_text(CONSUMER_0_1_0)
    runs = [f"{name}:{int(conditional)}" for name, (_, conditional) in RUNS_0_1_0.items()]
    result = run_python(
        [str(script), "expected.npz", "served.npz", *runs],
        cwd=legacy_0_1_0,
        env={"PYTHONPATH": os.path.join(REPO, "tests")},  # the harness's consumer
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = np.load(legacy_0_1_0 / "served.npz")
    recorded = sorted(key for key in EXPECTED_0_1_0.files if "_served_" in key)
    assert sorted(served.files) == recorded
    for key in recorded:
        np.testing.assert_allclose(served[key], EXPECTED_0_1_0[key], **EXACT, err_msg=key)
