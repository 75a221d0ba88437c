"""Every variant of the family passes `run_variant_test` (tests/harness.py).

The variants and settings whose step, posterior or prior differ: the VAE
(ELBO, closed-form KL), the IWAE bound under a VampPrior, two stochastic
layers (bottom-up, and top first under a VampPrior), a conditional VAE under a
mixture prior, and the autoencoder (no density); flows and the PixelCNN
decoder in test_flows.py and test_pixelcnn.py; a term that needs the dataset size is in test_loss_terms.py.
"""

import os
import re
import shutil

import keras
import numpy as np
import pytest
from conftest import REPO
from conftest import run_python
from harness import run_variant_test

import vae_tf
import vae_tf.explorer

pytestmark = pytest.mark.slow  # each checks its SavedModel and two replicas in a fresh process


def keras_numpy(value):
    return keras.ops.convert_to_numpy(value)


@pytest.fixture(autouse=True)
def initial_weights():
    """The networks' initial weights, the same at every run: the same numbers to check."""
    keras.utils.set_random_seed(0)


@pytest.fixture(scope="module")
def digits(mnist_small):
    (x, y), _ = mnist_small
    return x[:64], y[:64]


def test_vae(digits, tmp_path):
    model = vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", 2), seed=0)
    run_variant_test(model, digits[0], tmp_path=tmp_path)


def test_autoencoder(digits, tmp_path):
    networks = vae_tf.build_encoder_decoder("mlp", 2, variational=False)
    run_variant_test(vae_tf.Autoencoder(*networks, seed=0), digits[0], tmp_path=tmp_path)


def test_vae_on_the_iwae_bound_under_a_vamp_prior(digits, tmp_path):
    model = vae_tf.VAE(
        *vae_tf.build_encoder_decoder("mlp", 2),
        objective="iwae",
        num_samples=3,
        prior="vamp",
        prior_components=4,
        seed=0,
    )
    run_variant_test(model, digits[0], tmp_path=tmp_path)


def test_two_stochastic_layers(digits, tmp_path):
    networks = vae_tf.build_hierarchical_networks(2)
    model = vae_tf.HierarchicalVAE(*networks, objective="iwae", num_samples=2, seed=0)
    run_variant_test(model, digits[0], tmp_path=tmp_path)


def test_two_layers_inferred_top_first_under_a_vamp_prior(digits, tmp_path):
    networks = vae_tf.build_top_down_networks("mlp", 2)
    model = vae_tf.TopDownHierarchicalVAE(
        *networks, prior="vamp", prior_components=3, objective="iwae", num_samples=2, seed=0
    )
    run_variant_test(model, digits[0], tmp_path=tmp_path)


def test_conditional_vae_under_a_mixture_prior(digits, tmp_path):
    networks = vae_tf.build_encoder_decoder("mlp", 2, num_classes=10)
    model = vae_tf.VAE(*networks, num_classes=10, prior="mog", prior_components=3, seed=0)
    run_variant_test(model, *digits, tmp_path=tmp_path)


def _code_map_networks(variational):
    """Convolutional networks around a code map of shape (7, 7, 2)."""
    images = keras.Input((28, 28, 1))
    hidden = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(images)
    hidden = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(hidden)
    heads = [keras.layers.Conv2D(2, 1, name=name)(hidden) for name in ("z_mean", "z_log_var")]
    encoder = keras.Model(images, heads if variational else heads[:1], name="encoder")
    codes = keras.Input((7, 7, 2))
    hidden = keras.layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(
        codes
    )
    logits = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same")(hidden)
    return encoder, keras.Model(codes, logits, name="decoder")


@pytest.mark.parametrize("variational", [True, False], ids=["vae", "autoencoder"])
def test_codes_of_shape_h_w_c(digits, tmp_path, variational):
    networks = _code_map_networks(variational)
    model = (vae_tf.VAE if variational else vae_tf.Autoencoder)(*networks, seed=0)
    assert model.code_shape == (7, 7, 2) and model.prior.sample(3, 0).shape == (3, 7, 7, 2)
    run_variant_test(model, digits[0], tmp_path=tmp_path)
    # The page's sliders are for flat codes: it says so (its backends serve any shape).
    backend = vae_tf.explorer.KerasBackend(model)
    with pytest.raises(ValueError, match=r"flat codes.*\(7, 7, 2\)"):
        vae_tf.explorer.Explorer(backend, digits[0][:8])
    if variational:
        # The KL sums over every axis of the code: against the closed form by hand.
        z_mean, z_log_var = (keras_numpy(v) for v in model.encode(digits[0][:4]))
        mean, log_var = z_mean.astype("float64"), z_log_var.astype("float64")
        expected = 0.5 * (np.exp(log_var) + mean**2 - 1 - log_var).sum(axis=(1, 2, 3))
        # float32 sums of 98 terms each: a few 1e-7 nats apart from float64's.
        kl = model.per_example_losses(digits[0][:4])["kl"]
        np.testing.assert_allclose(keras_numpy(kl), expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            keras_numpy(vae_tf.losses.gaussian_kl(z_mean, z_log_var)),
            expected,
            rtol=1e-5,
            atol=1e-5,
        )


def test_a_prior_of_another_code_shape_is_refused_with_the_fix():
    networks = _code_map_networks(True)
    with pytest.raises(ValueError, match=r"codes of shape \(2,\).*\(7, 7, 2\).*code_shape="):
        vae_tf.VAE(*networks, prior=vae_tf.models.StandardNormal(2))
    with pytest.raises(ValueError, match="mixture over flat codes.*prior='normal'"):
        vae_tf.VAE(*networks, prior="mog")
    prior = vae_tf.models.StandardNormal(2, code_shape=(7, 7, 2))
    assert vae_tf.VAE(*networks, prior=prior).prior is prior


def test_the_variant_of_docs_api_md_trains_and_passes_the_harness(tmp_path):
    """docs/api.md's "Adding a model", as written: its module in vae_tf/models/, its test.

    In a copy of the package, so that the variant registers with it (and the
    registry of this process stays the library's).
    """
    text = open(os.path.join(REPO, "docs", "api.md")).read()
    section = text[text.index("## Adding a model") :]
    blocks = dict(re.findall(r"```python\n# (\S+)\n(.*?)```", section, re.S))
    assert set(blocks) == {"vae_tf/models/l2_vae.py", "tests/test_l2_vae.py"}, sorted(blocks)
    assert sum(block.count("\n") for block in blocks.values()) < 60
    shutil.copytree(
        os.path.join(REPO, "vae_tf"),
        tmp_path / "vae_tf",
        ignore=shutil.ignore_patterns("_data", "__pycache__"),
    )
    os.symlink(os.path.join(REPO, "vae_tf", "_data"), tmp_path / "vae_tf" / "_data")
    for path, code in blocks.items():
        (
            tmp_path / os.path.basename(path) if path.startswith("tests") else tmp_path / path
        ).write_text(code)
    runner = (
        "import pathlib, sys; sys.path.insert(1, sys.argv[2]); "
        "import test_l2_vae; test_l2_vae.test_l2_vae(pathlib.Path(sys.argv[1])); print('OK')"
    )
    (tmp_path / "work").mkdir()
    result = run_python(
        ["-c", runner, str(tmp_path / "work"), str(tmp_path)],
        cwd=os.path.join(REPO, "tests"),
        env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.path.join(REPO, 'tests')}"},
        timeout=600,
    )
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr[-4000:]
