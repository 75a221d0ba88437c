import os
import subprocess
import sys

import numpy as np
import pytest

import vae_tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def mnist_small():
    """1,024 training and 256 test images of the bundled MNIST, with labels."""
    (x_train, y_train), (x_test, y_test) = vae_tf.data.load_mnist()
    return (x_train[:1024], y_train[:1024]), (x_test[:256], y_test[:256])


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
