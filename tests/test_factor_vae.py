"""FactorVAE: its terms against numpy, its discriminator trained apart, saved and resumed."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_config
from harness import run_variant_test

import vae_tf
from vae_tf.models.factor_vae import FactorVAE
from vae_tf.models.factor_vae import build_discriminator
from vae_tf.models.factor_vae import permute_dimensions


@pytest.fixture(autouse=True)
def initial_weights():
    keras.utils.set_random_seed(0)


def small_factor_vae(latent_dim=3, **kwargs):
    networks = vae_tf.build_encoder_decoder("mlp", latent_dim)
    return FactorVAE(
        *networks, discriminator=build_discriminator(latent_dim, 16, 2), seed=0, **kwargs
    )


def _numpy_discriminator(model, codes):
    x = codes
    dense = [layer for layer in model.discriminator.layers if isinstance(layer, keras.layers.Dense)]
    for index, layer in enumerate(dense):
        kernel, bias = (weight.numpy().astype("float64") for weight in layer.weights)
        x = x @ kernel + bias
        if index < len(dense) - 1:
            x = np.where(x > 0, x, 0.2 * x)
    return x


def _log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def test_terms_equal_numpy_with_known_noise(mnist_small):
    (x, _), _ = mnist_small
    images = x[:8]
    model = small_factor_vae(gamma=7.0)
    noises = [np.random.default_rng(seed).normal(size=(8, 3)) for seed in (1, 2)]
    calls = iter(noises)
    model.sampler.normal = lambda shape, dtype="float32": keras.ops.convert_to_tensor(
        next(calls), dtype
    )
    terms = model.per_example_losses(images)
    z_mean, z_log_var = (value.numpy().astype("float64") for value in model.encode(images))
    eps, order_noise = noises
    z = z_mean + np.exp(0.5 * z_log_var) * eps
    logits = _numpy_discriminator(model, z)
    order = np.argsort(order_noise, axis=0)
    permuted = np.take_along_axis(z, order, axis=0)
    permuted_logits = _numpy_discriminator(model, permuted)
    np.testing.assert_allclose(terms["tc"], logits[:, 0] - logits[:, 1], rtol=1e-4, atol=1e-5)
    expected = -0.5 * (_log_softmax(logits)[:, 0] + _log_softmax(permuted_logits)[:, 1])
    np.testing.assert_allclose(terms["discriminator"], expected, rtol=1e-4, atol=1e-5)
    accuracy = 0.5 * (
        (logits[:, 0] > logits[:, 1]).astype(float)
        + (permuted_logits[:, 1] > permuted_logits[:, 0]).astype(float)
    )
    np.testing.assert_array_equal(terms["discriminator_accuracy"], accuracy)
    kl = 0.5 * np.sum(np.exp(z_log_var) + z_mean**2 - 1 - z_log_var, axis=1)
    np.testing.assert_allclose(terms["kl"], kl, rtol=1e-4)


def test_permutation_keeps_each_dimension_and_breaks_the_rows():
    codes = np.arange(40, dtype="float32").reshape(10, 4)
    noise = np.random.default_rng(0).normal(size=(10, 4)).astype("float32")
    permuted = keras.ops.convert_to_numpy(permute_dimensions(codes, noise))
    for column in range(4):
        assert sorted(permuted[:, column]) == sorted(codes[:, column])
    assert not np.array_equal(permuted, codes)


def test_the_step_trains_the_discriminator_by_its_own_optimizer(mnist_small):
    (x, _), _ = mnist_small
    model = small_factor_vae()
    model.compile(optimizer=keras.optimizers.SGD(0.0))  # the model's own weights stay
    encoder = [weight.numpy().copy() for weight in model.encoder.weights]
    discriminator = [weight.numpy().copy() for weight in model.discriminator.weights]
    assert not any(weight is model.discriminator.weights[0] for weight in model.trainable_weights)
    history = model.fit(x[:128], epochs=1, batch_size=32, verbose=0).history
    for before, weight in zip(encoder, model.encoder.weights):
        np.testing.assert_array_equal(weight.numpy(), before)
    moved = max(
        np.abs(weight.numpy() - before).max()
        for before, weight in zip(discriminator, model.discriminator.weights)
    )
    assert moved > 1e-5
    assert int(model.discriminator_optimizer.iterations) == 4
    assert 0.0 <= history["discriminator_accuracy"][0] <= 1.0
    assert history["discriminator_loss"][0] == pytest.approx(np.log(2), abs=0.1)


def test_a_discriminator_learns_correlated_codes():
    """Codes with all dimensions equal (total correlation high): the discriminator learns them."""
    model = small_factor_vae(latent_dim=2)
    discriminator = model.discriminator
    optimizer = model.discriminator_optimizer
    optimizer.learning_rate.assign(1e-2)
    rng = np.random.default_rng(0)
    for _ in range(200):
        shared = rng.normal(size=(64, 1))
        codes = np.concatenate([shared, shared], axis=1).astype("float32")
        permuted = permute_dimensions(codes, rng.normal(size=(64, 2)).astype("float32"))
        with tf.GradientTape() as tape:
            real = keras.ops.log_softmax(discriminator(codes), axis=-1)[:, 0]
            fake = keras.ops.log_softmax(discriminator(permuted), axis=-1)[:, 1]
            loss = -0.5 * keras.ops.mean(real + fake)
        optimizer.apply(tape.gradient(loss, discriminator.weights), discriminator.weights)
    # The density ratio of equal codes against independent ones is large: the
    # estimate of the total correlation is clearly positive.
    logits = keras.ops.convert_to_numpy(discriminator(codes))
    assert np.mean(logits[:, 0] - logits[:, 1]) > 1.0
    assert float(loss) < 0.5


def test_bad_settings_are_refused():
    networks = vae_tf.build_encoder_decoder("mlp", 3)
    with pytest.raises(ValueError, match="gamma must be"):
        FactorVAE(*networks, gamma=-1.0)
    with pytest.raises(ValueError, match="factorized prior"):
        FactorVAE(*networks, prior="mog", prior_components=3)
    with pytest.raises(ValueError, match="2 logits"):
        FactorVAE(*networks, discriminator=build_discriminator(4, 8, 1))
    deterministic = vae_tf.build_encoder_decoder("mlp", 3, variational=False)
    with pytest.raises(ValueError, match=r"z_mean, z_log_var"):
        FactorVAE(*deterministic)
    with pytest.raises(ValueError, match=r"FactorVAE penalizes.*beta cannot apply"):
        vae_tf.TrainConfig(model="factor_vae", beta=4.0).validate()
    with pytest.raises(ValueError, match="gamma must be"):
        vae_tf.TrainConfig(model="factor_vae", gamma=-2.0).validate()


@pytest.mark.slow  # two runs with the paper's discriminator of 5 million weights
def test_train_logs_its_terms_and_resumes_the_discriminator(tmp_path):
    config = tiny_config(tmp_path / "run", model="factor_vae", gamma=20.0, latent_dim=3)
    result = vae_tf.train(config, verbose=0)
    assert result.model.gamma == 20.0
    with open(tmp_path / "run" / "history.csv") as f:
        header = f.readline()
    for name in ("tc_loss", "discriminator_loss", "discriminator_accuracy"):
        assert name in header
    config = tiny_config(tmp_path / "run", model="factor_vae", gamma=20.0, latent_dim=3, epochs=2)
    resumed = vae_tf.train(config, verbose=0, resume=True)
    # Its own optimizer's state came back with the run: it counts every step.
    assert int(resumed.model.discriminator_optimizer.iterations) == 10


@pytest.mark.slow
def test_factor_vae_passes_the_harness(mnist_small, tmp_path):
    (x, _), _ = mnist_small
    run_variant_test(small_factor_vae(), x[:64], tmp_path=tmp_path)


def test_files_keep_the_discriminator_and_its_optimizer_under_their_names(tmp_path):
    import h5py

    model = small_factor_vae()
    model.compile(optimizer="adam")
    model.save_weights(str(tmp_path / "model.weights.h5"))
    with h5py.File(tmp_path / "model.weights.h5") as f:
        assert {"discriminator", "discriminator_optimizer"} <= set(f)
    # The SavedModel serves codes and images: the discriminator is not in it.
    vae_tf.export_saved_model(model, str(tmp_path / "saved_model"))
    exported = {
        tuple(v.shape) for v in tf.saved_model.load(str(tmp_path / "saved_model")).variables
    }
    kernels = {tuple(w.shape) for w in model.discriminator.weights if len(w.shape) == 2}
    assert kernels == {(3, 16), (16, 16), (16, 2)} and not kernels & exported
    assert {tuple(w.shape) for w in model.encoder.weights} <= exported


def test_a_term_for_an_unknown_network_is_refused(mnist_small):
    (x, _), _ = mnist_small

    class Misnamed(FactorVAE):
        def loss_terms(self, images, condition=None, training=False):
            terms = super().loss_terms(images, condition, training)
            terms["discriminator"].trains = "critic"
            return terms

    networks = vae_tf.build_encoder_decoder("mlp", 3)
    model = Misnamed(*networks, discriminator=build_discriminator(3, 16, 2), seed=0)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"trains='critic'.*would train nothing"):
        model.fit(x[:32], epochs=1, batch_size=16, verbose=0)
