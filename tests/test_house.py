"""The shared pieces every variant, source and script builds on: priors, importance weights,
the data registry, one source per setting, and the library's words at the command line."""

import math

import keras
import numpy as np
import pytest
from absl import flags
from conftest import assert_close

import vae_tf
from vae_tf import cli
from vae_tf import data
from vae_tf.models import DiagonalGaussian
from vae_tf.models import LatentVariableModel
from vae_tf.models import StandardNormal


def test_standard_normal_prior_density_samples_and_kl():
    prior = StandardNormal(3)
    z = np.array([[0.0, 1.0, -2.0], [0.5, 0.5, 0.5]], "float32")
    expected = -0.5 * (z**2).sum(axis=1) - 1.5 * math.log(2 * math.pi)
    assert_close(prior.log_prob(z), expected)
    # Stateless: the same integer seed gives the same codes, as keras.random does.
    np.testing.assert_array_equal(prior.sample(4, 7), prior.sample(4, 7))
    np.testing.assert_array_equal(prior.sample(4, 7), keras.random.normal((4, 3), seed=7))
    assert prior.sample(100_000, 1).numpy().std() == pytest.approx(1.0, abs=0.01)
    # The closed-form KL is E_q[log q(z) - log p(z)], estimated by Monte Carlo.
    mean, log_var = np.array([[0.3, -1.0, 2.0]], "float32"), np.array([[-1.0, 0.5, 0.0]], "float32")
    eps = np.random.default_rng(0).standard_normal((200_000, 3)).astype("float32")
    codes = mean + np.exp(0.5 * log_var) * eps
    log_q = -0.5 * (eps**2 + log_var + math.log(2 * math.pi))
    log_p = -0.5 * (codes**2 + math.log(2 * math.pi))
    estimate = (log_q - log_p).mean(axis=0)
    assert_close(prior.kl(DiagonalGaussian(mean, log_var))[0], estimate, rtol=0.02, atol=0.01)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(prior))
    assert isinstance(restored, StandardNormal) and restored.latent_dim == 3


def test_every_variant_samples_from_its_prior(conv_vae):
    assert isinstance(conv_vae, LatentVariableModel) and isinstance(conv_vae.prior, StandardNormal)
    np.testing.assert_allclose(
        conv_vae.sample(3, seed=5), conv_vae.decode(conv_vae.prior.sample(3, 5)), atol=1e-6
    )
    autoencoder = vae_tf.Autoencoder(*vae_tf.build_encoder_decoder("mlp", 2, variational=False))
    assert isinstance(autoencoder, LatentVariableModel) and not isinstance(autoencoder, vae_tf.VAE)
    assert autoencoder.prior.latent_dim == 2 and float(autoencoder.kl_weight) == 0.0


def test_log_importance_weights_are_log_joint_minus_log_posterior(conv_vae, mnist_small):
    (x, _), _ = mnist_small
    images = keras.ops.convert_to_tensor(x[:3])
    z_mean, z_log_var = conv_vae.encode(x[:3])
    eps = np.random.default_rng(1).standard_normal((3, 4, 2)).astype("float32")
    log_w, reconstruction = conv_vae.log_importance_weights(images, eps)
    assert tuple(log_w.shape) == (3, 4) and tuple(reconstruction.shape) == (3, 4)
    z_mean, z_log_var = np.asarray(z_mean), np.asarray(z_log_var)
    for k in range(4):
        z = z_mean + np.exp(0.5 * z_log_var) * eps[:, k]
        expected_recon = np.asarray(conv_vae.reconstruction_nll(images, conv_vae.raw_decode(z)))
        log_p = -0.5 * (z**2 + math.log(2 * math.pi)).sum(axis=1)
        log_q = -0.5 * (eps[:, k] ** 2 + z_log_var + math.log(2 * math.pi)).sum(axis=1)
        assert_close(reconstruction[:, k], expected_recon, rtol=1e-5, atol=1e-3)
        assert_close(log_w[:, k], -expected_recon + log_p - log_q, rtol=1e-5, atol=1e-3)


def test_a_registered_source_trains_like_a_named_dataset(tmp_path, mnist_small):
    (x, y), (x_test, y_test) = mnist_small
    arrays = ((x[:64], y[:64]), (x_test[:32], y_test[:32]))
    data.register(
        "digits64",
        lambda: data.DataSource("digits64", (28, 28, 1), 10, "bernoulli", lambda: arrays),
    )
    source = data.get_source("digits64")
    assert (source.image_shape, source.num_classes, source.likelihood) == (
        (28, 28, 1),
        10,
        "bernoulli",
    )
    assert "digits64" in data.registry.names()
    # latent_dim=3: no latent grid per class to draw.
    config = vae_tf.TrainConfig(
        dataset="digits64",
        architecture="mlp",
        latent_dim=3,
        epochs=1,
        batch_size=32,
        conditional=True,
        output_dir=str(tmp_path / "run"),
    )
    result = vae_tf.train(config, verbose=0)
    assert result.model.conditional and result.model.num_classes == 10
    with pytest.raises(ValueError, match="dataset must be one of .*'digits64'"):
        data.get_source("digits65")


def test_a_settings_help_and_bounds_live_once():
    flag_values = flags.FlagValues()
    cli.define_train_flags(flag_values=flag_values)
    for name in ("latent_dim", "free_bits", "likelihood", "output_dir"):
        assert flag_values[name].help.endswith(cli.flag_words(vae_tf.TrainConfig.describe(name)))
        assert vae_tf.TrainConfig.describe(name) in vae_tf.TrainConfig.__doc__.replace(
            "\n            ", " "
        )
    # The model, the folder and the config refuse a bad value with the same check.
    messages = []
    for make in (
        lambda: vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", 2), sigma=-1),
        lambda: vae_tf.TrainConfig(sigma=-1).validate(),
    ):
        with pytest.raises(ValueError) as error:
            make()
        messages.append(str(error.value))
    assert messages[0] == messages[1] == "sigma must be > 0; got -1."
    assert vae_tf.TrainConfig.check("channels") is data.image_folder.CHANNELS


def test_library_words_become_flags_where_scripts_print():
    assert cli.flag_words("Pass resume=True, overwrite=True or deterministic=False.") == (
        "Pass --resume, --overwrite or --nodeterministic."
    )
    assert cli.flag_words("learning_rate must be > 0; a lower learning_rate=0.01") == (
        "--learning_rate must be > 0; a lower --learning_rate=0.01"
    )
    assert cli.flag_words("choose another output_dir, not data_dir; epochs stay") == (
        "choose another --output_dir, not --data_dir; epochs stay"
    )
    # Already a flag, a path, or not a setting: unchanged.
    assert cli.flag_words("--epochs=3, x_train=..., my_epochs=2, runs/output_dir/a") == (
        "--epochs=3, x_train=..., my_epochs=2, runs/output_dir/a"
    )


def test_the_formatter_owns_the_layout():
    # `ruff check --fix . && ruff format .` from the project's root mends a failure.
    import subprocess
    import sys

    from conftest import REPO

    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
