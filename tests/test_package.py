import io
import subprocess
import sys
import zipfile

import pytest
from conftest import REPO
from conftest import run_python

from vae_tf import _startup


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
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
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
    from vae_tf import checkpointing
    from vae_tf import image_folder
    from vae_tf import model
    from vae_tf import run_directory
    from vae_tf import sweeps
    from vae_tf import training

    assert model.VAE is vae_tf.models.VAE and model.Autoencoder is vae_tf.models.Autoencoder
    assert training.train is vae_tf.runs.train and training.TrainConfig is vae_tf.TrainConfig
    assert training.load_run is vae_tf.runs.load_run
    assert checkpointing.TrainingCheckpoint is vae_tf.callbacks.TrainingCheckpoint
    assert run_directory.RunDirectory is vae_tf.runs.RunDirectory
    assert image_folder.ImageFolder is vae_tf.data.ImageFolder
    assert sweeps.run_sweep is vae_tf.runs.sweeps.run_sweep


@pytest.mark.slow
def test_the_wheel_ships_the_explorer_page(tmp_path):
    # pip may not reach an index here: build with the setuptools already installed.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            REPO,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("vae_tf-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for asset in ("index.html", "explorer.js", "explorer.css"):
        assert f"vae_tf/explorer/static/{asset}" in names
    assert "vae_tf/_data/mnist.npz" in names


def test_startup_notices_are_held_back_and_other_lines_kept():
    text = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1.1 3805 port.cc:153] oneDNN custom operations are on. You may see\n"
        "E0000 00:00:1.2 3805 cuda_platform.cc:52] failed call to cuInit: INTERNAL: (303)\n"
        "E0000 00:00:1.3 3805 some_op.cc:10] a real error\n"
        "Traceback (most recent call last):\n"
    )
    stream = io.StringIO()
    before = len(_startup.HIDDEN_LINES)
    _startup.replay(text, stream)
    assert stream.getvalue() == (
        "E0000 00:00:1.3 3805 some_op.cc:10] a real error\nTraceback (most recent call last):\n"
    )
    assert len(_startup.HIDDEN_LINES) == before + 3


@pytest.mark.slow
def test_importing_vae_tf_prints_no_tensorflow_start_up_lines():
    quiet = run_python(["-c", "import vae_tf, sys; sys.stderr.write('ours\\n')"])
    assert quiet.returncode == 0 and quiet.stderr == "ours\n"
    loud = run_python(["-c", "import vae_tf"], env={"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert "oneDNN" in loud.stderr or "cuda" in loud.stderr
