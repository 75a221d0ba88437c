"""beta-TCVAE: its estimators against numpy, its terms against closed forms, its registry entry.

The minibatch estimators of log q(z) and log prod_k q(z_k) (Chen et al.,
2018) are checked against a direct float64 sum of densities written from
the paper's formulas; the model's five terms against numpy on the same
draws; the decomposition's identity; the closed forms of identical and of
well-separated posteriors; the plain VAE's Monte Carlo ELBO (value and
gradients) at weights 1; the family's harness (two replicas included); and
the settings through `TrainConfig`.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from harness import run_variant_test
from scipy.special import expit
from scipy.stats import norm

import vae_tf
from vae_tf.models.beta_tcvae import BetaTCVAE
from vae_tf.models.beta_tcvae import minibatch_log_densities
from vae_tf.models.beta_tcvae import minibatch_log_weights
from vae_tf.models.objective import batch_objective

ESTIMATORS = ("mss", "mws")


def numpy(value):
    return keras.ops.convert_to_numpy(value).astype("float64")


@pytest.fixture(autouse=True)
def initial_weights():
    keras.utils.set_random_seed(0)


def reference_weights(batch, dataset_size, estimator):
    """The paper's weights of q(z_i|x_j) in q(z_i), written out entry by entry."""
    n = dataset_size
    weights = np.empty((batch, batch))
    for i in range(batch):
        for j in range(batch):
            if estimator == "mws":  # weighted sampling: 1 / (N M), M the batch size
                weights[i, j] = 1 / (n * batch)
                continue
            m = batch - 1  # stratified sampling: a batch of M + 1, one of them the draw's own
            if j == i:
                weights[i, j] = 1 / n
            elif j == (i + 1) % batch:
                weights[i, j] = (n - m) / (n * m)
            else:
                weights[i, j] = 1 / m
    return weights


def reference_log_densities(z, means, log_vars, dataset_size, estimator):
    """`(log q(z_i), sum_k log q(z_ik))` as float64 sums of densities (not log-sum-exps)."""
    weights = reference_weights(len(means), dataset_size, estimator)
    scale = np.exp(0.5 * log_vars)
    log_q, log_marginals = [], []
    for i, code in enumerate(z):
        per_dimension = norm.pdf(code[None, :], means, scale)  # (batch, d): q(z_ik | x_j)
        log_q.append(np.log(np.sum(weights[i] * np.prod(per_dimension, axis=1))))
        log_marginals.append(np.sum(np.log(weights[i] @ per_dimension)))
    return np.array(log_q), np.array(log_marginals)


def small_batch(batch=5, latent=3, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(batch, latent))
    log_vars = rng.uniform(-1.0, 0.5, size=(batch, latent))
    z = means + np.exp(0.5 * log_vars) * rng.normal(size=(batch, latent))
    return z, means, log_vars


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_the_estimators_equal_the_papers_sums_of_densities(estimator):
    z, means, log_vars = small_batch()
    expected = reference_log_densities(z, means, log_vars, 20, estimator)
    actual = minibatch_log_densities(z, means, log_vars, 20, estimator)
    for got, want in zip(actual, expected):
        np.testing.assert_allclose(numpy(got), want, rtol=1e-5)
    # A replica's rows (examples 2 and 3 of the global batch) against the same posteriors.
    part = minibatch_log_densities(z[2:4], means, log_vars, 20, estimator, offset=2)
    for got, want in zip(part, expected):
        np.testing.assert_allclose(numpy(got), want[2:4], rtol=1e-5)
    weights = np.exp(numpy(minibatch_log_weights(5, 5, 20, estimator)))
    np.testing.assert_allclose(weights, reference_weights(5, 20, estimator), rtol=1e-6)
    # The stratified weights of each draw add up to 1 (q(z) unbiased); the weighted ones to 1/N.
    np.testing.assert_allclose(weights.sum(axis=1), 1.0 if estimator == "mss" else 1 / 20)


def test_one_example_and_a_batch_larger_than_the_dataset():
    z, means, log_vars = small_batch(batch=1)
    own = norm.logpdf(z, means, np.exp(0.5 * log_vars)).sum()
    for estimator in ESTIMATORS:  # one example: both weigh its own posterior by 1/N
        log_q, _ = minibatch_log_densities(z, means, log_vars, 20, estimator)
        np.testing.assert_allclose(numpy(log_q), [own - math.log(20)], rtol=1e-6)
    z, means, log_vars = small_batch(batch=5)
    with pytest.raises(ValueError, match=r"batch of 5 examples.*dataset of 3.*dataset_size"):
        minibatch_log_densities(z, means, log_vars, 3, "mss")


def test_well_separated_posteriors_give_the_exact_aggregate_of_the_whole_dataset():
    # The batch is the whole dataset (B = N) and no posterior reaches another's draw:
    # then q(z_i) = q(z_i|x_i) / N exactly, so MI = log N and TC = (d - 1) log N.
    # MSS gets it; MWS is log B lower for q(z) and for each marginal.
    batch, latent = 6, 3
    means = 10.0 * np.arange(batch)[:, None] * np.ones(latent)
    log_vars = np.full((batch, latent), -4.0)
    z = means + np.exp(-2.0) * np.sin(np.arange(batch * latent)).reshape(batch, latent)
    own = norm.logpdf(z, means, np.exp(-2.0)).sum(axis=1)
    exact = np.log(np.mean(np.exp(own)[:, None] * np.eye(batch), axis=1))  # q(z|x_j) ~ 0, j != i
    for estimator, bias in (("mss", 0.0), ("mws", math.log(batch))):
        log_q, log_marginals = (
            numpy(v) for v in minibatch_log_densities(z, means, log_vars, batch, estimator)
        )
        # float32 codes near 50 with a spread of 0.14: about 1e-5 nats apart from float64's.
        np.testing.assert_allclose(own - log_q, math.log(batch) + bias, atol=1e-4)
        np.testing.assert_allclose(log_q, exact - bias, atol=1e-4)
        np.testing.assert_allclose(
            log_q - log_marginals, (latent - 1) * (math.log(batch) + bias), atol=1e-4
        )


def mlp_model(estimator="mss", dataset_size=20, **weights):
    networks = vae_tf.build_encoder_decoder("mlp", 3)
    return BetaTCVAE(
        *networks, tc_estimator=estimator, dataset_size=dataset_size, seed=0, **weights
    )


def fix_noise(model, noise):
    """The model's draws take `noise` (what the harness does with its own fixed noise)."""
    model.sampler.normal = lambda shape, dtype="float32": tf.constant(noise, dtype)


def draw(model, images, noise):
    """`(z, log q(z|x), log p(z), closed-form KL, reconstruction)` of the draw, in float64 numpy."""
    z_mean, z_log_var = (numpy(v) for v in model.encode(images))
    z = z_mean + np.exp(0.5 * z_log_var) * noise
    log_q = norm.logpdf(z, z_mean, np.exp(0.5 * z_log_var)).sum(axis=1)
    log_p = norm.logpdf(z).sum(axis=1)
    kl = 0.5 * (np.exp(z_log_var) + z_mean**2 - 1 - z_log_var).sum(axis=1)
    probabilities = expit(numpy(model.decoder(z.astype("float32"))))
    x = images.astype("float64")
    reconstruction = -(x * np.log(probabilities) + (1 - x) * np.log1p(-probabilities))
    return z, z_mean, z_log_var, log_q, log_p, kl, reconstruction.sum(axis=(1, 2, 3))


def reference_objective(model, images, noise, dataset_size, estimator, weights):
    """The weighted objective in float64 TensorFlow, from sums of densities: for gradients."""
    z_mean, z_log_var = (tf.cast(v, "float64") for v in model.encoder(images)[:2])
    z = z_mean + tf.exp(0.5 * z_log_var) * noise
    variance = tf.exp(z_log_var)[None]
    # q(z_ik | x_j), (batch, batch, d)
    density = tf.exp(-0.5 * (z[:, None] - z_mean[None]) ** 2 / variance) / tf.sqrt(
        2 * math.pi * variance
    )
    matrix = tf.constant(reference_weights(len(images), dataset_size, estimator))
    log_q_z = tf.math.log(tf.reduce_sum(matrix * tf.reduce_prod(density, axis=-1), axis=1))
    log_marginals = tf.reduce_sum(
        tf.math.log(tf.reduce_sum(matrix[:, :, None] * density, axis=1)), axis=-1
    )
    own = tf.reduce_sum(tf.math.log(tf.linalg.diag_part(tf.transpose(density, (2, 0, 1)))), 0)
    log_p = tf.reduce_sum(-0.5 * z**2 - 0.5 * math.log(2 * math.pi), axis=-1)
    logits = tf.cast(model.decoder(tf.cast(z, "float32")), "float64")
    reconstruction = tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(tf.constant(images, "float64"), logits),
        axis=(1, 2, 3),
    )
    parts = {"mi": own - log_q_z, "tc": log_q_z - log_marginals, "dim_kl": log_marginals - log_p}
    return tf.reduce_mean(
        reconstruction + sum(weights[f"{name}_weight"] * parts[name] for name in parts)
    )


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_the_models_terms_against_numpy_and_their_sum_the_kl_of_the_draw(mnist_small, estimator):
    (x, _), _ = mnist_small
    images = x[:6]
    noise = np.random.default_rng(1).normal(size=(6, 3))
    weights = dict(mi_weight=2.0, tc_weight=6.0, dim_kl_weight=0.5)
    model = mlp_model(estimator, **weights)
    fix_noise(model, noise)
    with tf.GradientTape(persistent=True) as tape:
        terms = model.loss_terms(keras.ops.convert_to_tensor(images), training=True)
        objective, _ = batch_objective(terms)
        reference = reference_objective(model, images, noise, 20, estimator, weights)
    z, z_mean, z_log_var, log_q, log_p, kl, reconstruction = draw(model, images, noise)
    log_q_z, log_marginals = reference_log_densities(z, z_mean, z_log_var, 20, estimator)
    expected = {
        "reconstruction": reconstruction,
        "kl": kl,
        "mi": log_q - log_q_z,
        "tc": log_q_z - log_marginals,
        "dim_kl": log_marginals - log_p,
    }
    for name, value in expected.items():
        got = numpy(terms[name].per_example())
        np.testing.assert_allclose(got, value, rtol=1e-4, atol=2e-4, err_msg=name)
    # The decomposition: mi + tc + dim_kl = log q(z|x) - log p(z) of the same draw, per example.
    parts = sum(numpy(terms[name].per_example()) for name in ("mi", "tc", "dim_kl"))
    np.testing.assert_allclose(parts, log_q - log_p, rtol=1e-4, atol=2e-4)
    # The objective weighs each part; the total stays the negative ELBO (closed-form KL).
    weighted = reconstruction + sum(
        weights[f"{name}_weight"] * expected[name] for name in ("mi", "tc", "dim_kl")
    )
    np.testing.assert_allclose(numpy(objective), weighted.mean(), rtol=1e-5)
    # Its gradients: every posterior of the batch counts in every draw's q(z).
    variables = model.trainable_weights
    for ours, theirs, variable in zip(
        tape.gradient(objective, variables), tape.gradient(reference, variables), variables
    ):
        np.testing.assert_allclose(
            numpy(ours), numpy(theirs), rtol=1e-3, atol=1e-4, err_msg=variable.path
        )
    assert [name for name, term in terms.items() if term.in_total] == ["reconstruction", "kl"]
    assert [name for name, term in terms.items() if not term.optimized] == ["kl"]


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_identical_posteriors_give_the_closed_forms(mnist_small, estimator):
    # Every example the same image: q(z) = q(z|x), a factorized Gaussian, so the true MI and
    # TC are 0, which MSS gives exactly; MWS gives log N and (d - 1) log N.
    (x, _), _ = mnist_small
    images = np.repeat(x[:1], 4, axis=0)
    noise = np.random.default_rng(2).normal(size=(4, 3))
    model = mlp_model(estimator, dataset_size=50)
    fix_noise(model, noise)
    terms = model.per_example_losses(images, training=True)
    _, _, _, log_q, log_p, _, _ = draw(model, images, noise)
    log_n = math.log(50) if estimator == "mws" else 0.0
    np.testing.assert_allclose(numpy(terms["mi"]), log_n, atol=2e-5)
    np.testing.assert_allclose(numpy(terms["tc"]), 2 * log_n, atol=2e-5)
    np.testing.assert_allclose(numpy(terms["dim_kl"]), log_q - log_p - 3 * log_n, atol=2e-4)


def test_at_weights_one_the_objective_and_its_gradients_are_the_vaes_monte_carlo_elbo(
    mnist_small,
):
    (x, _), _ = mnist_small
    images = keras.ops.convert_to_tensor(x[:8])
    noise = np.random.default_rng(3).normal(size=(8, 3)).astype("float32")
    model = mlp_model(dataset_size=100, mi_weight=1.0, tc_weight=1.0, dim_kl_weight=1.0)
    fix_noise(model, noise)
    # The plain VAE on the same networks: log p(x|z) + log p(z) - log q(z|x) of the same draw.
    vae = vae_tf.VAE(model.encoder, model.decoder)
    with tf.GradientTape(persistent=True) as tape:
        objective, _ = batch_objective(model.loss_terms(images, training=True))
        log_weights, _ = vae.log_importance_weights(images, noise[:, None])
        elbo = -keras.ops.mean(log_weights)
    np.testing.assert_allclose(numpy(objective), numpy(elbo), rtol=1e-5)
    weights = model.trainable_weights
    for ours, theirs, weight in zip(
        tape.gradient(objective, weights), tape.gradient(elbo, weights), weights
    ):
        np.testing.assert_allclose(
            numpy(ours), numpy(theirs), rtol=1e-3, atol=1e-5, err_msg=weight.path
        )


def test_an_unknown_dataset_size_and_settings_without_a_place_are_refused(mnist_small):
    (x, _), _ = mnist_small
    model = mlp_model(dataset_size=None)
    model.compile(optimizer="adam")
    dataset = tf.data.Dataset.from_tensor_slices(x[:16]).batch(8)
    with pytest.raises(ValueError, match=r"dataset_size=.*fit on arrays"):
        model.fit(dataset, epochs=1, verbose=0)
    assert model.fit(x[:16], epochs=1, batch_size=8, verbose=0).history["tc_loss"]
    assert model.dataset_size == 16  # fit on arrays set it
    networks = vae_tf.build_encoder_decoder("mlp", 3)
    with pytest.raises(ValueError, match=r"beta, free_bits.*tc_weight is this model's beta"):
        BetaTCVAE(*networks, beta=4.0, free_bits=0.5)
    with pytest.raises(ValueError, match=r"N\(0, I\).*factorized prior"):
        BetaTCVAE(*networks, prior="vamp")
    with pytest.raises(ValueError, match=r"tc_estimator must be one of \('mss', 'mws'\)"):
        BetaTCVAE(*networks, tc_estimator="exact")
    with pytest.raises(ValueError, match="tc_weight must be >= 0"):
        BetaTCVAE(*networks, tc_weight=-1.0)


def test_the_config_round_trip_keeps_the_settings():
    model = mlp_model("mws", dataset_size=77, tc_weight=4.0, mi_weight=0.5)
    config = model.get_config()
    assert {key: config[key] for key in ("tc_weight", "mi_weight", "tc_estimator")} == {
        "tc_weight": 4.0,
        "mi_weight": 0.5,
        "tc_estimator": "mws",
    }
    assert not {"beta", "free_bits", "objective", "num_samples"} & set(config)
    again = BetaTCVAE.from_config(config)
    assert again.get_config()["dataset_size"] == 77 and again.tc_estimator == "mws"


@pytest.mark.slow  # the SavedModel and two replicas in a fresh process
def test_beta_tcvae_passes_the_harness(mnist_small, tmp_path):
    # Two replicas weigh their draws against the gathered global batch, the stratified
    # weights placed by each example's position in it: the same training as one device.
    (x, _), _ = mnist_small
    model = mlp_model("mss", dataset_size=48, tc_weight=6.0)
    history = run_variant_test(model, x[:64], tmp_path=tmp_path)
    for name in ("mi_loss", "tc_loss", "dim_kl_loss", "val_tc_loss"):
        assert name in history


def test_the_registry_entry_validates_builds_and_trains(mnist_small, tmp_path):
    (x, _), _ = mnist_small
    run = dict(architecture="mlp", latent_dim=3, epochs=1, output_dir=str(tmp_path / "run"))
    config = vae_tf.TrainConfig(model="beta_tcvae", tc_weight=4, tc_estimator="mws", **run)
    config.validate()
    model = vae_tf.runs.build_model(config)
    assert isinstance(model, BetaTCVAE)
    assert (model.tc_weight, model.mi_weight, model.dim_kl_weight) == (4.0, 1.0, 1.0)
    assert model.tc_estimator == "mws"
    history = model.fit(x[:64], epochs=1, batch_size=16, verbose=0).history
    assert model.dataset_size == 64
    for name in ("loss", "total_loss", "reconstruction_loss", "kl_loss", "mi_loss", "tc_loss"):
        assert np.isfinite(history[name][0]), name
    # total_loss is the negative ELBO: reconstruction + closed-form KL, not the weighted parts.
    assert history["total_loss"][0] == pytest.approx(
        history["reconstruction_loss"][0] + history["kl_loss"][0], rel=1e-5
    )
    bad = {
        "tc_weight": (-1.0, "tc_weight must be >= 0"),
        "mi_weight": (float("nan"), "mi_weight must be >= 0"),
        "tc_estimator": ("exact", r"tc_estimator must be one of \('mss', 'mws'\)"),
        "batch_size": (1, "batch_size must be at least 2"),
        "beta": (4.0, r"tc_weight is its beta.*beta cannot apply.*model=vae"),
        "kl_warmup_epochs": (2, "no KL schedule.*kl_warmup_epochs cannot apply"),
        "prior": ("vamp", "against N\\(0, I\\).*prior cannot apply"),
    }
    for name, (value, message) in bad.items():
        with pytest.raises(ValueError, match=message):
            vae_tf.TrainConfig(model="beta_tcvae", **{**run, name: value}).validate()
    with pytest.raises(ValueError, match=r"tc_weight cannot apply.*model=beta_tcvae"):
        vae_tf.TrainConfig(model="vae", tc_weight=4.0, **run).validate()
