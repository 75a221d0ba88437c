import pytest

from conftest import run_python


@pytest.mark.slow
def test_import_accepts_an_explicit_tensorflow_backend():
    result = run_python(
        ["-c", "import vae_tf, keras; print(keras.backend.backend())"],
        env={"KERAS_BACKEND": "tensorflow"},
    )
    assert result.returncode == 0 and result.stdout.strip() == "tensorflow"


@pytest.mark.slow
def test_import_without_keras_backend_uses_tensorflow():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    result = subprocess.run(
        [sys.executable, "-c", "import vae_tf, keras; print(keras.backend.backend())"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0 and result.stdout.strip() == "tensorflow"


@pytest.mark.slow
def test_import_refuses_another_backend_clearly():
    result = run_python(["-c", "import vae_tf"], env={"KERAS_BACKEND": "jax"})
    assert result.returncode != 0
    assert "KERAS_BACKEND='jax'" in result.stderr
    assert "KERAS_BACKEND=tensorflow" in result.stderr


def test_old_import_paths_give_the_moved_objects():
    import vae_tf
    from vae_tf import checkpointing, image_folder, model, run_directory, sweeps, training

    assert model.VAE is vae_tf.models.VAE and model.Autoencoder is vae_tf.models.Autoencoder
    assert training.train is vae_tf.runs.train and training.TrainConfig is vae_tf.TrainConfig
    assert training.load_run is vae_tf.runs.load_run
    assert checkpointing.TrainingCheckpoint is vae_tf.callbacks.TrainingCheckpoint
    assert run_directory.RunDirectory is vae_tf.runs.RunDirectory
    assert image_folder.ImageFolder is vae_tf.data.ImageFolder
    assert sweeps.run_sweep is vae_tf.runs.sweeps.run_sweep
