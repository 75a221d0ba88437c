import os

import numpy as np
import pytest
import tensorflow as tf
from conftest import PLAIN_FIGURES
from conftest import run_python

import vae_tf
from vae_tf import plotting

# End-to-end: every test runs the scripts in subprocesses.
pytestmark = pytest.mark.slow

BLOCK_VAE_TF = (
    "import runpy, sys; sys.modules['vae_tf'] = None; "
    "sys.argv = ['generate.py'] + sys.argv[1:]; "
    "runpy.run_path('scripts/generate.py', run_name='__main__')"
)


@pytest.fixture(scope="module")
def runs(tiny_run):
    """Three tiny runs: 2-D and 3-D latent spaces, and a 2-D autoencoder (read, never changed)."""
    return {
        2: tiny_run().run_dir,
        3: tiny_run(latent_dim=3).run_dir,
        "autoencoder": tiny_run(model="autoencoder").run_dir,
    }


def test_training_writes_the_figures_that_fit(runs):
    assert set(PLAIN_FIGURES) <= {f[:-4] for f in os.listdir(runs[2])}
    three = {f[:-4] for f in os.listdir(runs[3])}
    assert set(PLAIN_FIGURES) - {"latent_grid"} <= three and "latent_grid" not in three


def test_autoencoder_runs_write_the_same_figures(runs):
    assert set(PLAIN_FIGURES) <= {f[:-4] for f in os.listdir(runs["autoencoder"])}
    saved = tf.saved_model.load(os.path.join(runs["autoencoder"], "saved_model"))
    codes = saved.encode(np.zeros((2, 28, 28, 1), "float32"))
    assert list(codes) == ["z"]


def test_visualize_compares_runs_side_by_side(runs, tmp_path):
    result = run_python(
        [
            "scripts/visualize.py",
            f"--run_dir={runs[2]}",
            f"--compare_with={runs['autoencoder']}",
            f"--out_dir={tmp_path}",
            "--scatter_examples=500",
        ]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert os.listdir(tmp_path) == ["comparison.png"]


def test_visualize_regenerates_every_figure(runs, tmp_path):
    out = tmp_path / "figures"
    result = run_python(["scripts/visualize.py", f"--run_dir={runs[2]}", f"--out_dir={out}"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(os.listdir(out)) == sorted(f"{name}.png" for name in PLAIN_FIGURES)
    assert result.stdout.count("wrote ") == len(PLAIN_FIGURES)


def test_visualize_selected_figures_and_options(runs, tmp_path):
    result = run_python(
        [
            "scripts/visualize.py",
            f"--run_dir={runs[2]}",
            f"--out_dir={tmp_path}",
            "--figures=latent_grid,samples",
            "--spacing=quantile",
            "--z_range=0.1,0.9",
            "--grid_size=8",
            "--split=train",
            "--seed=3",
        ]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(os.listdir(tmp_path)) == ["latent_grid.png", "samples.png"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--figures=latent_grid"], "latent_dim=3"),
        (["--figures=manifold"], "Unknown figure"),
        (["--z_range=a,b"], "--z_range must be two numbers"),
    ],
)
def test_visualize_errors_are_clear(runs, tmp_path, args, message):
    result = run_python(
        ["scripts/visualize.py", f"--run_dir={runs[3]}", f"--out_dir={tmp_path}", *args]
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_visualize_refuses_a_directory_without_a_model(tmp_path):
    result = run_python(["scripts/visualize.py", f"--run_dir={tmp_path}"])
    assert result.returncode == 2
    assert "No vae.keras" in result.stderr


def test_generate_samples_without_vae_tf(runs, tmp_path):
    out = tmp_path / "samples.png"
    saved_model = os.path.join(runs[2], "saved_model")
    result = run_python(
        ["-c", BLOCK_VAE_TF, f"--saved_model={saved_model}", "--num=10", f"--out={out}"]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert "10 images" in result.stdout


def test_generate_decodes_given_points(runs, tmp_path):
    out = tmp_path / "points.png"
    saved_model = os.path.join(runs[3], "saved_model")
    result = run_python(
        ["-c", BLOCK_VAE_TF, f"--saved_model={saved_model}", "--z=0.5,-1,0;0,0,2", f"--out={out}"]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.exists() and "2 images" in result.stdout
    bad = run_python(["scripts/generate.py", f"--saved_model={saved_model}", "--z=0.5,-1"])
    assert bad.returncode == 2 and "points of 3 numbers" in bad.stderr


def test_generate_names_a_missing_endpoint(tmp_path):
    module = tf.Module()
    module.decode = tf.function(
        lambda z: tf.zeros([tf.shape(z)[0], 28, 28, 1]),
        input_signature=[tf.TensorSpec((None, 2), tf.float32, name="z")],
    )
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"decode": module.decode})
    result = run_python(["scripts/generate.py", f"--saved_model={tmp_path / 'sm'}"])
    assert result.returncode == 2
    assert "lacks the endpoint(s) ['sample']" in result.stderr
    missing = run_python(["scripts/generate.py", f"--saved_model={tmp_path / 'nothing'}"])
    assert missing.returncode == 2 and "not a SavedModel directory" in missing.stderr


def test_generated_samples_match_the_saved_model(runs):
    loaded = tf.saved_model.load(os.path.join(runs[2], "saved_model"))
    model = vae_tf.runs.load_run(runs[2]).model
    z = np.array([[0.0, 0.0]], "float32")
    np.testing.assert_allclose(loaded.decode(z), model.decode(z), atol=1e-6)
