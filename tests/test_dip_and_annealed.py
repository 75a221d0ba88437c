"""DIP-VAE and the annealed VAE: their penalties against numpy, the capacity schedule, resume.

The DIP penalty against covariances and sums computed in float64 numpy, for
both types; the annealed objective `mean reconstruction + gamma * |mean KL - C|`
against numpy at steps on both sides of the KL; the capacity read from the
optimizer's step, so that it goes on from a checkpoint and through an
interrupted and resumed `vae_tf.train`; the settings' bounds and refusals;
and `run_variant_test` on each (slow).
"""

import keras
import numpy as np
import pytest
from conftest import assert_close
from conftest import tiny_config
from harness import run_variant_test

import vae_tf
from vae_tf.callbacks.checkpoint import load_training_state
from vae_tf.models import DiagonalGaussian
from vae_tf.models.annealed_vae import ANNEALED_GAMMA
from vae_tf.models.annealed_vae import AnnealedVAE
from vae_tf.models.annealed_vae import capacity_at
from vae_tf.models.dip_vae import DIPVAE
from vae_tf.models.dip_vae import dip_covariance
from vae_tf.models.dip_vae import dip_penalty
from vae_tf.models.objective import batch_objective
from vae_tf.models.registry import get_variant
from vae_tf.runs import TrainConfig
from vae_tf.runs import train

RNG = np.random.default_rng(0)


def numpy_of(value):
    return keras.ops.convert_to_numpy(value)


def numpy_penalty(mean, log_var, dip_type, lambda_od, lambda_d):
    """The DIP penalty in float64, written out: np.cov's biased covariance, loops over entries."""
    mean = np.asarray(mean, "float64").reshape(len(mean), -1)
    covariance = np.cov(mean, rowvar=False, bias=True).reshape(mean.shape[1], mean.shape[1])
    if dip_type == "ii":
        variance = np.exp(np.asarray(log_var, "float64")).reshape(len(mean), -1)
        covariance = covariance + np.diag(variance.mean(axis=0))
    size = len(covariance)
    off = sum(covariance[i, j] ** 2 for i in range(size) for j in range(size) if i != j)
    diagonal = sum((covariance[i, i] - 1) ** 2 for i in range(size))
    return lambda_od * off + lambda_d * diagonal


def numpy_kl(mean, log_var):
    mean, log_var = np.asarray(mean, "float64"), np.asarray(log_var, "float64")
    return 0.5 * (np.exp(log_var) + mean**2 - 1 - log_var).reshape(len(mean), -1).sum(axis=1)


def mlp(latent_dim=3):
    keras.utils.set_random_seed(0)
    return vae_tf.build_encoder_decoder("mlp", latent_dim)


@pytest.fixture(scope="module")
def digits(mnist_small):
    (x, _), _ = mnist_small
    return x[:64]


# -- DIP-VAE --------------------------------------------------------------------------


@pytest.mark.parametrize("dip_type", ["i", "ii"])
def test_the_dip_penalty_is_the_formula_on_the_batch_covariance(dip_type):
    # Correlated means of unequal scales, so that every entry of C counts.
    mixing = np.array([[1.0, 0.0, 0.0, 0.0], [0.8, 0.5, 0.0, 0.0], [0.0, -1.2, 2.0, 0.0]])
    mean = (RNG.normal(size=(50, 3)) @ mixing + 0.7).astype("float32")
    log_var = RNG.normal(-1.0, 0.5, size=(50, 4)).astype("float32")
    variance = np.exp(log_var) if dip_type == "ii" else None
    expected = np.cov(mean.astype("float64"), rowvar=False, bias=True)
    if dip_type == "ii":
        expected = expected + np.diag(np.exp(log_var.astype("float64")).mean(axis=0))
    assert_close(dip_covariance(mean, variance), expected, rtol=1e-5, atol=1e-5)
    penalty = numpy_penalty(mean, log_var, dip_type, 3.0, 7.0)
    assert_close(dip_penalty(expected.astype("float32"), 3.0, 7.0), penalty, rtol=1e-5)
    # The model's penalty of a posterior: the same, with lambda_d its default.
    model = DIPVAE(*mlp(4), dip_type=dip_type, lambda_od=3.0, seed=0)
    lambda_d = 30.0 if dip_type == "i" else 3.0
    assert model.lambda_d == lambda_d
    posterior = DiagonalGaussian(
        keras.ops.convert_to_tensor(mean), keras.ops.convert_to_tensor(log_var)
    )
    assert_close(
        model.dip(posterior), numpy_penalty(mean, log_var, dip_type, 3.0, lambda_d), rtol=1e-5
    )


def test_decorrelated_codes_of_unit_variance_have_no_penalty_and_scaled_ones_the_closed_form():
    # Centred and whitened: Cov[mu] is the identity exactly.
    centred = RNG.normal(size=(200, 5))
    centred -= centred.mean(axis=0)
    left, _, _ = np.linalg.svd(centred, full_matrices=False)
    white = (left * np.sqrt(200) + 3.0).astype("float32")
    assert float(dip_penalty(dip_covariance(white), 10.0, 100.0)) == pytest.approx(0, abs=1e-6)
    # Type ii: means of covariance 0.75 I and posterior variances 0.25 add up to I.
    means = white * np.sqrt(0.75).astype("float32")
    variances = np.full((200, 5), 0.25, "float32")
    covariance = dip_covariance(means, variances)
    assert float(dip_penalty(covariance, 10.0, 100.0)) == pytest.approx(0, abs=1e-6)
    # Doubled means: C = 4 I, lambda_d * d * (4 - 1)^2; the off-diagonal weight plays no part.
    doubled = dip_penalty(dip_covariance(2 * white), 10.0, 100.0)
    assert float(doubled) == pytest.approx(100.0 * 5 * 9.0, rel=1e-5)


@pytest.mark.parametrize("dip_type", ["i", "ii"])
def test_the_dip_step_optimizes_the_elbo_plus_the_batch_penalty(digits, dip_type):
    model = DIPVAE(*mlp(), dip_type=dip_type, lambda_od=2.0, lambda_d=5.0, seed=0)
    images = digits[:32]
    mean, log_var = (numpy_of(value) for value in model.encode(images))
    penalty = numpy_penalty(mean, log_var, dip_type, 2.0, 5.0)
    terms = model.loss_terms(keras.ops.convert_to_tensor(images))
    assert set(terms) == {"reconstruction", "kl", "dip"}
    # The batch's penalty, the same for each example; outside the negative ELBO.
    assert_close(terms["dip"].per_example(), np.full(32, penalty), rtol=1e-4)
    assert not terms["dip"].in_total and terms["kl"].in_total
    assert_close(terms["kl"].per_example(), numpy_kl(mean, log_var), rtol=1e-5, atol=1e-5)
    objective, _ = batch_objective(terms)
    reconstruction = numpy_of(terms["reconstruction"].per_example()).astype("float64")
    expected = reconstruction.mean() + numpy_kl(mean, log_var).mean() + penalty
    assert float(objective) == pytest.approx(expected, rel=1e-5)


# -- the annealed VAE ----------------------------------------------------------------


def test_the_capacity_rises_linearly_then_holds():
    for step, expected in (
        (0, 0.0),
        (1, 0.25),
        (50, 12.5),
        (100, 25.0),
        (101, 25.0),
        (10**6, 25.0),
    ):
        assert float(capacity_at(step, 25.0, 100)) == pytest.approx(expected), step
    model = AnnealedVAE(*mlp(), capacity_max=25.0, capacity_steps=100, seed=0)
    # Not compiled: the capacity it is trained towards.
    assert float(model.capacity()) == 25.0
    model.compile(optimizer="adam")
    for step, expected in ((0, 0.0), (50, 12.5), (100, 25.0), (400, 25.0)):
        model.optimizer.iterations.assign(step)
        assert float(model.capacity()) == pytest.approx(expected), step


def test_the_annealed_objective_is_reconstruction_plus_gamma_times_the_kl_distance(digits):
    model = AnnealedVAE(*mlp(), capacity_max=40.0, capacity_steps=10_000, gamma=7.0, seed=0)
    model.compile(optimizer="adam")
    images = digits[:32]
    mean, log_var = (numpy_of(value) for value in model.encode(images))
    kl = numpy_kl(mean, log_var)
    assert 0 < kl.mean() < 40
    # C below every example's KL, amid them (where |mean KL - C| is not the mean of
    # |KL - C|: the distance is of the batch's mean) and above them all.
    middle = int(round(np.median(kl) / 0.004))
    assert abs(np.abs(kl - middle * 0.004).mean() - abs(kl.mean() - middle * 0.004)) > 0.01
    for step in (0, middle, 10_000):
        model.optimizer.iterations.assign(step)
        capacity = 40.0 * step / 10_000
        terms = model.loss_terms(keras.ops.convert_to_tensor(images))
        assert_close(terms["kl"].per_example(), kl, rtol=1e-5, atol=1e-5)
        assert_close(terms["capacity"].per_example(), np.full(32, abs(kl.mean() - capacity)))
        assert_close(terms["kl_target"].per_example(), np.full(32, capacity))
        reconstruction = numpy_of(terms["reconstruction"].per_example()).astype("float64")
        objective, _ = batch_objective(terms)
        expected = reconstruction.mean() + 7.0 * abs(kl.mean() - capacity)
        assert float(objective) == pytest.approx(expected, rel=1e-5)
    # In the training step: each step's logs, of one forward pass, at that step's C.
    model = AnnealedVAE(*mlp(), capacity_max=40.0, capacity_steps=4, gamma=7.0, seed=0)
    model.compile(optimizer="adam", steps_per_execution=1)
    for step in range(6):
        logs = model.train_on_batch(images, return_dict=True)
        capacity = min(40.0, 10.0 * step)
        assert logs["kl_target"] == pytest.approx(capacity), step
        assert logs["capacity_loss"] == pytest.approx(abs(logs["kl_loss"] - capacity), rel=1e-5)
        expected = logs["reconstruction_loss"] + 7.0 * logs["capacity_loss"]
        assert logs["loss"] == pytest.approx(expected, rel=1e-5)
        assert logs["total_loss"] == pytest.approx(
            logs["reconstruction_loss"] + logs["kl_loss"], rel=1e-5
        )


def test_the_capacity_goes_on_from_a_checkpoint(digits, tmp_path):
    model = AnnealedVAE(*mlp(), capacity_max=10.0, capacity_steps=20, seed=0)
    model.compile(optimizer="adam", steps_per_execution=1)
    model.fit(digits, batch_size=8, epochs=1, verbose=0)  # 8 steps
    path = str(tmp_path / "state.weights.h5")
    model.save_weights(path)
    resumed = AnnealedVAE(*mlp(), capacity_max=10.0, capacity_steps=20, seed=0)
    resumed.compile(optimizer="adam", steps_per_execution=1)
    assert float(resumed.capacity()) == 0.0  # a new optimizer starts the schedule
    load_training_state(resumed, path)
    assert int(resumed.optimizer.iterations.numpy()) == 8
    assert float(resumed.capacity()) == pytest.approx(4.0)
    logs = resumed.train_on_batch(digits[:8], return_dict=True)
    assert logs["kl_target"] == pytest.approx(4.0)


@pytest.mark.slow
def test_an_interrupted_annealed_run_resumes_mid_schedule_exactly(tmp_path):
    # 2 epochs of 4 steps with C = step (8 nats over 8 steps); a checkpoint every 2
    # steps and a crash at step 7: the run resumes at step 6, in its second epoch.
    settings = dict(
        model="annealed_vae",
        capacity_max=8.0,
        capacity_steps=8,
        gamma=5.0,
        epochs=2,
        steps_per_epoch=4,
        batch_size=16,
        steps_per_execution=1,
        deterministic=True,
        seed=3,
    )
    whole = train(tiny_config(tmp_path / "whole", **settings), verbose=0)
    assert whole.history["kl_target"] == pytest.approx([(0 + 1 + 2 + 3) / 4, (4 + 5 + 6 + 7) / 4])
    config = tiny_config(tmp_path / "resumed", checkpoint_steps=2, **settings)

    class Crash(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if int(self.model.optimizer.iterations) == 7:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, verbose=0, callbacks=[Crash()])
    resumed = train(config, verbose=0)
    assert int(resumed.model.optimizer.iterations.numpy()) == 8
    # Steps 6 and 7 at C = 6 and 7: a schedule started again at 0 would train
    # other weights.
    for got, expected in zip(resumed.model.weights, whole.model.weights):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


# -- settings ------------------------------------------------------------------------


def test_settings_validate_and_build_with_their_defaults():
    config = TrainConfig(model="dip_vae", dip_type="ii", lambda_od=5)
    config.validate()
    common = dict(likelihood="bernoulli", sigma=0.1, seed=0, num_classes=None)
    keras.utils.set_random_seed(0)
    built = get_variant("dip_vae").build(
        TrainConfig(
            model="dip_vae", architecture="mlp", latent_dim=3, lambda_od=5, z_log_var_clip=6.0
        ),
        (28, 28, 1),
        common,
    )
    assert isinstance(built, DIPVAE) and (built.dip_type, built.lambda_d) == ("i", 50.0)
    assert built.z_log_var_clip == 6.0
    config = TrainConfig(model="annealed_vae", architecture="mlp", latent_dim=3)
    config.validate()
    assert config.gamma is None  # the model's default, resolved when built
    built = get_variant("annealed_vae").build(config, (28, 28, 1), common)
    assert isinstance(built, AnnealedVAE) and built.gamma == ANNEALED_GAMMA == 1000.0
    assert (built.capacity_max, built.capacity_steps) == (25.0, 100_000)
    TrainConfig(model="annealed_vae", gamma=0.5, capacity_max=5.0, capacity_steps=10).validate()


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(model="dip_vae", dip_type="iii"), r"dip_type must be one of \('i', 'ii'\)"),
        (dict(model="dip_vae", lambda_od=-1.0), "lambda_od must be >= 0; got -1.0"),
        (dict(model="dip_vae", lambda_d=float("nan")), r"lambda_d must be >= 0 \(None: 10 \*"),
        (dict(model="annealed_vae", capacity_max=-5.0), "capacity_max must be >= 0"),
        (dict(model="annealed_vae", capacity_steps=0), "capacity_steps must be a positive int"),
        (dict(model="annealed_vae", gamma=-1.0), r"gamma must be >= 0 \(None: the model's"),
        # Combinations: refused by the registry, with the reason.
        (
            dict(model="dip_vae", stochastic_layers=2),
            r"DIP-VAE regularizes the covariance of one Gaussian layer's means.*two stochastic "
            r"layers.*so stochastic_layers cannot apply.*model=vae\)",
        ),
        (dict(model="dip_vae", prior="mog"), "DIP-VAE .*mixture priors.*so prior cannot apply"),
        (dict(model="dip_vae", objective="iwae"), "DIP-VAE .*IWAE bound.*so objective cannot"),
        (
            dict(model="dip_vae", batch_size=1),
            "covariance .* 0 for a batch of one.*batch_size >= 2",
        ),
        (
            dict(model="annealed_vae", beta=4.0),
            r"The annealed VAE's KL enters its objective only as gamma \* \|KL - C\|.*so beta "
            "cannot apply",
        ),
        (
            dict(model="annealed_vae", kl_warmup_epochs=3),
            "KL schedules.*so kl_warmup_epochs cannot apply",
        ),
        (dict(model="dip_vae", capacity_max=5.0), "so capacity_max cannot apply.*annealed_vae"),
        (
            dict(model="dip_vae", gamma=5.0),
            r"so gamma cannot .*\(model=annealed_vae or factor_vae\)",
        ),
        (dict(model="vae", lambda_od=1.0), "so lambda_od cannot apply.*model=dip_vae"),
    ],
)
def test_bad_values_and_combinations_fail_before_training(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes).validate()
    with pytest.raises(ValueError, match=message):
        train(tiny_config(tmp_path / "run", **changes), verbose=0)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_the_classes_refuse_what_their_objective_would_ignore():
    with pytest.raises(ValueError, match="one-sample ELBO; got objective='iwae', num_samples=2"):
        DIPVAE(*mlp(), objective="iwae", num_samples=2)
    with pytest.raises(ValueError, match=r"gamma \* \|KL - C\|.*got beta=4.0, free_bits=0.5"):
        AnnealedVAE(*mlp(), beta=4.0, free_bits=0.5)


def test_the_models_round_trip_their_settings(tmp_path):
    # The whole round trip is the harness's; here, the settings of each variant.
    for model, names in (
        (
            DIPVAE(*mlp(), dip_type="ii", lambda_od=2.0, seed=0),
            ("dip_type", "lambda_od", "lambda_d"),
        ),
        (
            AnnealedVAE(*mlp(), capacity_max=3.0, capacity_steps=7, gamma=9.0, seed=0),
            ("capacity_max", "capacity_steps", "gamma"),
        ),
    ):
        path = str(tmp_path / f"{type(model).__name__}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert type(loaded) is type(model)
        for name in names:
            assert getattr(loaded, name) == getattr(model, name) == model.get_config()[name]
    assert (loaded.capacity_max, loaded.capacity_steps, loaded.gamma) == (3.0, 7, 9.0)


# -- the family's checks ------------------------------------------------------------


@pytest.mark.slow
def test_dip_vae_passes_the_harness(digits, tmp_path):
    model = DIPVAE(*mlp(), dip_type="ii", lambda_od=2.0, seed=0)
    history = run_variant_test(model, digits, tmp_path=tmp_path)
    assert "dip_loss" in history and "val_dip_loss" in history


@pytest.mark.slow
def test_annealed_vae_passes_the_harness(digits, tmp_path):
    # C moves during the mirrored check's 10 steps, and gamma keeps SGD's steps small.
    model = AnnealedVAE(*mlp(), capacity_max=2.0, capacity_steps=5, gamma=10.0, seed=0)
    history = run_variant_test(model, digits, tmp_path=tmp_path)
    assert "capacity_loss" in history and "kl_target" in history
