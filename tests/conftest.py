import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import vae_tf
from vae_tf import plotting

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def mnist_small():
    """1,024 training and 256 test images of the bundled MNIST, with labels."""
    (x_train, y_train), (x_test, y_test) = vae_tf.data.load_mnist()
    return (x_train[:1024], y_train[:1024]), (x_test[:256], y_test[:256])


@pytest.fixture(scope="session")
def judge_cache(tmp_path_factory):
    """A `VAE_TF_CACHE` folder holding the MNIST judge of 1 epoch (about 15 s to train).

    Tests that measure sample quality on MNIST set the variable to it and ask
    for `judge_epochs=1`, so the judge is trained once per session.
    """
    root = str(tmp_path_factory.mktemp("vae_tf_cache"))
    from vae_tf.metrics.judge import load_judge

    load_judge(
        vae_tf.data.get_source("mnist"), epochs=1, cache_dir=os.path.join(root, "judges"), log=None
    )
    return root


# The figures of a plain VAE with a 2-D latent space: all but the conditional models', those
# of known factors and the VQ-VAE's (the tests' expectation, written out, not the registry's).
PLAIN_FIGURES = [
    name
    for name in plotting.FIGURES
    if name
    not in (
        "style_grid",
        "analogies",
        "class_interpolation",
        "factor_traversal",
        "codebook_usage",
        "code_maps",
    )
]

# A run that trains in seconds: the mlp, a 2-D latent space, one epoch of 5 steps on MNIST.
TINY_RUN = dict(architecture="mlp", latent_dim=2, epochs=1, steps_per_epoch=5)


def tiny_config(output_dir, **overrides):
    """The `TrainConfig` of a tiny run in `output_dir`: `TINY_RUN` with `overrides`."""
    return vae_tf.TrainConfig(**{**TINY_RUN, "output_dir": str(output_dir), **overrides})


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """`tiny_run(**overrides) -> vae_tf.runs.TrainResult`: a finished tiny run (`tiny_config`).

    A run is trained once per settings and shared by the tests of the
    process: read it, or copy its folder to change it. With `output_dir=`,
    a run of its own is trained there instead.

    Example: `tiny_run(latent_dim=3).run_dir`, `tiny_run(model="autoencoder").model`.
    """
    base = tmp_path_factory.mktemp("tiny_runs")
    runs = {}

    def make(output_dir=None, **overrides):
        if output_dir is not None:
            return vae_tf.train(tiny_config(output_dir, **overrides), verbose=0)
        key = json.dumps(overrides, sort_keys=True, default=str)
        if key not in runs:
            runs[key] = vae_tf.train(tiny_config(base / f"run{len(runs)}", **overrides), verbose=0)
        return runs[key]

    return make


# The VQ-VAE's tiny run: its own conv networks, a codebook of 16 codes of 4 numbers, the
# PixelCNN prior trained one epoch (about 15 s). The settings of test_vq_vae's evaluation
# test, so a process running both trains it once.
TINY_VQ_RUN = dict(
    model="vq_vae",
    architecture="conv",
    latent_dim=4,
    codebook_size=16,
    prior_layers=2,
    prior_filters=8,
    prior_epochs=1,
    binarize=True,
)


@pytest.fixture(scope="session")
def tiny_vq_run(tiny_run):
    """The finished tiny VQ-VAE run (`TINY_VQ_RUN`), trained once per process: read it only."""
    return tiny_run(**TINY_VQ_RUN)


@pytest.fixture
def conv_vae():
    encoder, decoder = vae_tf.build_encoder_decoder("conv", latent_dim=2)
    return vae_tf.VAE(encoder, decoder, seed=3)


def run_python(args, cwd=REPO, env=None, timeout=300):
    """Runs `python args...` in a fresh process; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_close(actual, expected, rtol=1e-5, atol=1e-5):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


@pytest.fixture
def ctrl_c_raises():
    """SIGINT raising KeyboardInterrupt, as in a terminal, however pytest was started.

    A job that a script starts in the background (`pytest &`, `nohup`) inherits
    SIGINT ignored, and SignalCatcher rightly leaves an ignored signal alone.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
