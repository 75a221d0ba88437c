"""The MMD family: the unbiased MMD against numpy and a closed form, WAE-MMD and InfoVAE.

The estimate of `vae_tf.losses.mmd` against the U-statistic written out in
float64 loops, for both kernels and codes of any shape; its mean over many
batches against the closed-form squared MMD between two Gaussians under
the RBF kernel, and against 0 for one distribution (it is unbiased); each
model's objective against numpy from the same noise; the settings'
refusals; a run of each through `vae_tf.train`; and `run_variant_test` on
each (slow).
"""

import keras
import numpy as np
import pytest
from conftest import assert_close
from conftest import tiny_config
from harness import run_variant_test

import vae_tf
from vae_tf import losses
from vae_tf.models.info_vae import InfoVAE
from vae_tf.models.registry import get_variant
from vae_tf.models.wae import DEFAULT_MMD_WEIGHT
from vae_tf.models.wae import WassersteinAutoencoder
from vae_tf.runs import TrainConfig
from vae_tf.runs import train
from vae_tf.runs.evaluate import evaluate_run

RNG = np.random.default_rng(0)


def numpy_of(value):
    return keras.ops.convert_to_numpy(value)


def numpy_kernel(a, b, kernel, dimension):
    distance = float(np.sum((a - b) ** 2))
    base = 2.0 * dimension
    if kernel == "rbf":
        return np.exp(-distance / base)
    return sum(s * base / (s * base + distance) for s in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0))


def numpy_mmd(x, y, kernel):
    """The U-statistic in float64, pair by pair."""
    x = np.asarray(x, "float64").reshape(len(x), -1)
    y = np.asarray(y, "float64").reshape(len(y), -1)
    d, n, m = x.shape[1], len(x), len(y)
    xx = sum(numpy_kernel(x[i], x[j], kernel, d) for i in range(n) for j in range(n) if i != j)
    yy = sum(numpy_kernel(y[i], y[j], kernel, d) for i in range(m) for j in range(m) if i != j)
    xy = sum(numpy_kernel(x[i], y[j], kernel, d) for i in range(n) for j in range(m))
    return xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2 * xy / (n * m)


def mlp(latent_dim=3, variational=True):
    keras.utils.set_random_seed(0)
    return vae_tf.build_encoder_decoder("mlp", latent_dim, variational=variational)


def fixed_noise(shape, dtype="float32"):
    """Noise the test knows: a fixed draw of the shape asked for."""
    values = np.random.default_rng(7).normal(size=[int(size) for size in shape])
    return keras.ops.convert_to_tensor(values, dtype)


@pytest.fixture(scope="module")
def digits(mnist_small):
    (x, _), _ = mnist_small
    return x[:64]


# -- the MMD ---------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
@pytest.mark.parametrize("shape", [(5,), (2, 2, 3)])
def test_the_mmd_is_the_u_statistic(kernel, shape):
    x = RNG.normal(0.5, 1.2, size=(9, *shape)).astype("float32")
    y = RNG.normal(size=(6, *shape)).astype("float32")
    assert_close(losses.mmd(x, y, kernel), numpy_mmd(x, y, kernel), rtol=1e-5, atol=1e-6)
    # Symmetric, and 0 exactly between two copies of one point each... of distinct pairs.
    assert_close(losses.mmd(x, y, kernel), losses.mmd(y, x, kernel), rtol=1e-5, atol=1e-6)


def test_the_rbf_mmd_is_unbiased_for_the_closed_form_between_two_gaussians():
    # Under exp(-|x - y|^2 / C), with x ~ N(a, I), y ~ N(b, I) in d dimensions,
    # E k(x, y) = (1 + 4 / C)^(-d/2) exp(-|a - b|^2 / (C + 4)), and within one
    # sample the same with a = b: the squared MMD in closed form.
    d, n, repeats = 4, 16, 400
    shift = np.array([0.6, -0.3, 0.0, 0.2])
    c = 2.0 * d
    scale = (1 + 4 / c) ** (-d / 2)
    exact = 2 * scale * (1 - np.exp(-np.sum(shift**2) / (c + 4)))
    # Batches of 16, as small as a training step's on a replica: the bias would show.
    x = RNG.normal(size=(repeats, n, d)) + shift
    y = RNG.normal(size=(repeats, n, d))
    estimates = np.array(
        [float(losses.mmd(a.astype("float32"), b.astype("float32"), "rbf")) for a, b in zip(x, y)]
    )
    error = estimates.std() / np.sqrt(repeats)
    assert abs(estimates.mean() - exact) < 4 * error, (estimates.mean(), exact, error)
    same = np.array(
        [
            float(losses.mmd(a.astype("float32"), b.astype("float32"), "imq"))
            for a, b in zip(y, RNG.normal(size=(repeats, n, d)))
        ]
    )
    assert abs(same.mean()) < 4 * same.std() / np.sqrt(repeats)
    assert same.min() < 0  # unbiased: it goes below 0


def test_the_mmd_refuses_samples_of_two_shapes_and_unknown_kernels():
    with pytest.raises(ValueError, match=r"rows of \(3,\) and \(4,\)"):
        losses.mmd(np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"kernel must be one of \('imq', 'rbf'\); got 'cos'"):
        losses.mmd_kernel(np.zeros((2, 2), "float32"), 2, "cos")
    # A sample of one row has no pair: finite, only the cross term.
    one = losses.mmd(np.zeros((1, 2), "float32"), np.ones((3, 2), "float32"), "rbf")
    assert np.isfinite(float(one))


# -- the models' objectives --------------------------------------------------------------


def test_the_wae_optimizes_the_code_reconstruction_plus_the_weighted_mmd(digits):
    model = WassersteinAutoencoder(*mlp(4, variational=False), mmd_weight=7.0, kernel="rbf")
    model.sampler.normal = fixed_noise
    images = keras.ops.convert_to_tensor(digits[:20])
    terms = model.loss_terms(images)
    assert set(terms) == {"reconstruction", "mmd"}
    codes = numpy_of(model.encode(digits[:20])[0])
    logits = numpy_of(model.raw_decode(codes)).astype("float64").reshape(20, -1)
    x = digits[:20].astype("float64").reshape(20, -1)
    nll = (np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))).sum(axis=1)
    assert_close(terms["reconstruction"].value, nll, rtol=1e-4)
    penalty = numpy_mmd(codes, numpy_of(fixed_noise((20, 4))), "rbf")
    assert_close(terms["mmd"].value, np.full(20, penalty), rtol=1e-4, atol=1e-6)
    objective, _ = model._objective(terms)
    assert_close(objective, nll.mean() + 7.0 * penalty, rtol=1e-5)
    # total_loss: the reconstruction alone (there is no KL term).
    assert not terms["mmd"].in_total and terms["reconstruction"].in_total
    assert model.kl_estimate is None and model.mmd_weight == 7.0
    # An epoch's last batch of one has no pair of codes: no penalty, not a large negative one.
    single = model.loss_terms(images[:1])
    assert_close(single["mmd"].value, [0.0], atol=0)


def test_info_vae_optimizes_the_reweighted_elbo_plus_the_mmd_of_the_decoded_draws(digits):
    model = InfoVAE(*mlp(4), kl_weight=0.25, mmd_weight=30.0)
    model.sampler.normal = fixed_noise
    images = keras.ops.convert_to_tensor(digits[:20])
    terms = model.loss_terms(images)
    assert set(terms) == {"reconstruction", "kl", "mmd"}
    mean, log_var = (numpy_of(value).astype("float64") for value in model.encode(digits[:20]))
    noise = numpy_of(fixed_noise((20, 4))).astype("float64")
    z = mean + np.exp(0.5 * log_var) * noise  # the draw both the decoder and the MMD see
    logits = numpy_of(model.raw_decode(z.astype("float32"))).astype("float64").reshape(20, -1)
    x = digits[:20].astype("float64").reshape(20, -1)
    nll = (np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))).sum(axis=1)
    kl = 0.5 * (np.exp(log_var) + mean**2 - 1 - log_var).sum(axis=1)
    # The prior's draws come after the posterior's from the same (fixed) source.
    penalty = numpy_mmd(z, noise, "imq")
    assert_close(terms["reconstruction"].value, nll, rtol=1e-4)
    assert_close(terms["mmd"].value, np.full(20, penalty), rtol=1e-4, atol=1e-6)
    objective, _ = model._objective(terms)
    assert_close(objective, nll.mean() + 0.25 * kl.mean() + 30.0 * penalty, rtol=1e-5)
    assert model.kl_estimate == "closed form" and float(model.kl_weight) == 0.25


# -- settings ---------------------------------------------------------------------------


def test_settings_validate_and_build_with_their_defaults():
    common = dict(likelihood="bernoulli", sigma=0.1, seed=0, num_classes=None)
    config = TrainConfig(model="wae_mmd", architecture="mlp", latent_dim=3)
    config.validate()
    built = get_variant("wae_mmd").build(config, (28, 28, 1), common)
    assert isinstance(built, WassersteinAutoencoder)
    assert (built.mmd_weight, built.kernel) == (DEFAULT_MMD_WEIGHT, "imq")
    config = TrainConfig(model="info_vae", architecture="mlp", latent_dim=3, kl_weight=0.0)
    config.validate()
    built = get_variant("info_vae").build(config, (28, 28, 1), common)
    assert isinstance(built, InfoVAE) and built.mmd_weight == DEFAULT_MMD_WEIGHT == 100.0
    assert built.beta == 0.0 and float(built.kl_weight) == 0.0
    config = TrainConfig(model="info_vae", mmd_weight=5.0, kernel="rbf", kl_warmup_epochs=2)
    config.validate()


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(model="wae_mmd", kernel="cosine"), r"kernel must be one of \('imq', 'rbf'\)"),
        (dict(model="wae_mmd", mmd_weight=-1.0), "mmd_weight must be >= 0; got -1.0"),
        (dict(model="info_vae", kl_weight=-0.5), "kl_weight must be >= 0"),
        (dict(model="wae_mmd", batch_size=1), "MMD, which needs pairs of codes.*batch_size >= 2"),
        (dict(model="info_vae", batch_size=1), "info_vae compares each batch's codes"),
        (
            dict(model="wae_mmd", beta=2.0),
            "The WAE has a deterministic encoder, no KL term and the prior N.0, I., so beta "
            "cannot apply",
        ),
        (dict(model="wae_mmd", kl_weight=0.5), "so kl_weight cannot apply.*model=info_vae"),
        (dict(model="info_vae", prior="vamp"), "InfoVAE adds the MMD .*so prior cannot apply"),
        (dict(model="info_vae", beta=0.5), "so beta cannot apply.*model=vae"),
        (dict(model="vae", mmd_weight=10.0), r"so mmd_weight cannot .*model=info_vae or wae_mmd"),
        (dict(model="autoencoder", kernel="rbf"), "so kernel cannot apply"),
    ],
)
def test_bad_values_and_combinations_fail_before_training(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes).validate()
    with pytest.raises(ValueError, match=message):
        train(tiny_config(tmp_path / "run", **changes), verbose=0)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_the_classes_refuse_another_prior_and_the_vae_s_names():
    with pytest.raises(ValueError, match="draws from N.0, I. with the MMD; got the prior Mix"):
        WassersteinAutoencoder(*mlp(variational=False), prior="mog", prior_components=3)
    with pytest.raises(ValueError, match="pass kl_weight= instead of beta="):
        InfoVAE(*mlp(), beta=0.5)
    with pytest.raises(ValueError, match="one-sample ELBO; got objective='iwae'"):
        InfoVAE(*mlp(), objective="iwae", num_samples=2)
    with pytest.raises(ValueError, match="InfoVAE takes no flow"):
        InfoVAE(*mlp(), flow="planar")


def test_the_models_round_trip_their_settings(tmp_path):
    for model, names in (
        (WassersteinAutoencoder(*mlp(variational=False), mmd_weight=3.0, kernel="rbf"), ()),
        (InfoVAE(*mlp(), kl_weight=0.5, mmd_weight=20.0, kernel="rbf"), ("beta",)),
    ):
        path = str(tmp_path / f"{type(model).__name__}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert type(loaded) is type(model)
        for name in ("mmd_weight", "kernel", *names):
            assert getattr(loaded, name) == getattr(model, name)
    assert loaded.get_config()["kl_weight"] == 0.5 and "beta" not in loaded.get_config()


@pytest.mark.parametrize("model", ["wae_mmd", "info_vae"])
def test_a_run_trains_evaluates_and_draws(tmp_path, model):
    result = train(tiny_config(tmp_path / model, model=model, mmd_weight=10.0), verbose=0)
    history = result.history
    assert np.all(np.isfinite(history["mmd_loss"])) and "val_mmd_loss" in history
    assert np.all(np.isfinite(history["val_total_loss"]))
    loaded = keras.saving.load_model(tmp_path / model / "vae.keras")
    assert loaded.mmd_weight == 10.0
    assert numpy_of(loaded.sample(4, seed=0)).shape == (4, 28, 28, 1)
    evaluation = evaluate_run(tmp_path / model, num_samples=5, num_examples=40)
    if model == "info_vae":
        assert evaluation["nll"] <= evaluation["elbo"] + 0.5
        return
    # No density: the reconstruction of each code, the loss term's own figure.
    assert evaluation["nll"] is None and evaluation["elbo"] is None and evaluation["k"] is None
    (_, _), (x_test, _) = vae_tf.data.load_mnist()
    expected = numpy_of(loaded.per_example_losses(x_test[:40])["reconstruction"])
    assert_close(evaluation["reconstruction"], expected.mean(), rtol=1e-5)
    assert_close(
        evaluation["reconstruction_standard_error"], expected.std(ddof=1) / np.sqrt(40), rtol=1e-4
    )
    assert evaluation["reconstruction_bits_per_dim"] == pytest.approx(
        expected.mean() / (784 * np.log(2)), rel=1e-5
    )


# -- the family's checks ----------------------------------------------------------------


@pytest.mark.slow
def test_wae_mmd_passes_the_harness(digits, tmp_path):
    model = WassersteinAutoencoder(*mlp(variational=False), mmd_weight=10.0, seed=0)
    history = run_variant_test(model, digits, tmp_path=tmp_path)
    assert "mmd_loss" in history and "val_mmd_loss" in history


@pytest.mark.slow
def test_info_vae_passes_the_harness(digits, tmp_path):
    model = InfoVAE(*mlp(), kl_weight=0.5, mmd_weight=10.0, kernel="rbf", seed=0)
    history = run_variant_test(model, digits, tmp_path=tmp_path)
    assert "mmd_loss" in history and "kl_loss" in history
