import io
import subprocess
import sys
import zipfile

import pytest
from conftest import REPO
from conftest import run_python

from vae_tf.utils import startup


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


def test_the_moved_modules_are_at_their_new_paths_and_the_old_ones_gone():
    import importlib

    import vae_tf

    assert vae_tf.__version__ == "0.2.0"
    # 0.2.0: the networks and layers beside the models, the estimators in metrics, a run's
    # evaluation in runs, the plumbing in utils (README, "What moved in 0.2.0").
    from vae_tf.models import architectures
    from vae_tf.models import layers
    from vae_tf.runs import evaluate
    from vae_tf.utils import checks
    from vae_tf.utils import files
    from vae_tf.utils import images
    from vae_tf.utils import progress
    from vae_tf.utils import signals

    assert vae_tf.build_encoder_decoder is architectures.build_encoder_decoder
    assert vae_tf.PRESETS is architectures.PRESETS and vae_tf.Sampler is layers.Sampler
    assert vae_tf.metrics.evaluate_likelihood is vae_tf.metrics.likelihood.evaluate_likelihood
    assert vae_tf.runs.evaluate_run is evaluate.evaluate_run
    assert vae_tf.DamagedFileError is files.DamagedFileError
    assert issubclass(vae_tf.TrainingInterrupted, signals.Interrupted)
    assert vae_tf.plotting.tile_images is images.tile_images
    assert callable(progress.progress_bar) and callable(checks.check_positive_int)
    for name in ("SignalCatcher", "sigterm_as_interrupt", "Interrupted"):
        assert not hasattr(vae_tf.callbacks, name)
    old = (
        "checkpointing",
        "image_folder",
        "model",
        "run_directory",
        "sweeps",
        "training",
        "evaluation",
        "architectures",
        "layers",
        "progress",
        "benchmark",
        "_files",
        "_checks",
        "_startup",
        "_torch_reference",
        "explorer.png",
        "explorer.browser",
    )
    for name in old:
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(f"vae_tf.{name}")
        assert name not in vae_tf.__all__


def test_the_callbacks_draw_without_the_plotting_package():
    # TensorBoard's images and sprite tile and encode with vae_tf.utils.images alone.
    import ast
    import os

    folder = os.path.join(REPO, "vae_tf", "callbacks")
    for name in os.listdir(folder):
        if name.endswith(".py"):
            with open(os.path.join(folder, name)) as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom):
                    modules = [node.module or ""] + [
                        f"{node.module}.{alias.name}" for alias in node.names
                    ]
                elif isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                else:
                    continue
                for module in modules:
                    assert not module.startswith(("vae_tf.plotting", "matplotlib")), name


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
    # Tooling is not library: the benchmarks, the PyTorch reference and the browser driver.
    assert not [name for name in names if not name.startswith(("vae_tf/", "vae_tf-"))]
    assert "vae_tf/utils/images.py" in names and "vae_tf/explorer/browser.py" not in names


def test_startup_notices_are_held_back_and_other_lines_kept():
    text = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1.1 3805 port.cc:153] oneDNN custom operations are on. You may see\n"
        "E0000 00:00:1.2 3805 cuda_platform.cc:52] failed call to cuInit: INTERNAL: (303)\n"
        "E0000 00:00:1.3 3805 some_op.cc:10] a real error\n"
        "Traceback (most recent call last):\n"
    )
    stream = io.StringIO()
    before = len(startup.HIDDEN_LINES)
    startup.replay(text, stream)
    assert stream.getvalue() == (
        "E0000 00:00:1.3 3805 some_op.cc:10] a real error\nTraceback (most recent call last):\n"
    )
    assert len(startup.HIDDEN_LINES) == before + 3


@pytest.mark.slow
def test_importing_vae_tf_prints_no_tensorflow_start_up_lines():
    quiet = run_python(["-c", "import vae_tf, sys; sys.stderr.write('ours\\n')"])
    assert quiet.returncode == 0 and quiet.stderr == "ours\n"
    loud = run_python(["-c", "import vae_tf"], env={"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert "oneDNN" in loud.stderr or "cuda" in loud.stderr
