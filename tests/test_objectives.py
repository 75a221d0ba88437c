"""Likelihoods, KL weight schedules, free bits, z_log_var clipping, the Autoencoder."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_close

import vae_tf
from vae_tf import losses
from vae_tf.callbacks import CyclicalKLAnnealing
from vae_tf.callbacks import KLWarmup
from vae_tf.models import MIN_LOG_SIGMA
from vae_tf.models.objective import batch_objective

RNG = np.random.default_rng(0)


def _numpy_normal_pdf(x, mean, sigma):
    return np.exp(-((x - mean) ** 2) / (2 * sigma**2)) / (sigma * np.sqrt(2 * np.pi))


def test_gaussian_nll_is_the_log_density_with_its_constant():
    x = RNG.uniform(size=(3, 4, 4, 1))
    mean = RNG.uniform(size=(3, 4, 4, 1))
    for sigma in (0.1, 1.0, 2.5):
        expected = -np.log(_numpy_normal_pdf(x, mean, sigma)).reshape(3, -1).sum(axis=1)
        assert_close(losses.gaussian_nll(x, mean, math.log(sigma)), expected, rtol=1e-5)


def test_squared_error_is_the_sum_of_squares():
    x, mean = RNG.uniform(size=(2, 5, 5, 1)), RNG.uniform(size=(2, 5, 5, 1))
    assert_close(losses.squared_error(x, mean), ((x - mean) ** 2).reshape(2, -1).sum(axis=1))


def test_kl_per_dimension_and_log_densities_against_numpy():
    m, lv = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
    per_dim = losses.gaussian_kl_per_dimension(m, lv)
    assert_close(per_dim, 0.5 * (np.exp(lv) + m**2 - 1 - lv))
    assert_close(losses.gaussian_kl(m, lv), np.asarray(per_dim).sum(axis=1))
    eps = RNG.normal(size=(4, 3))
    z = m + np.exp(0.5 * lv) * eps
    assert_close(
        losses.standard_normal_log_density(z), np.log(_numpy_normal_pdf(z, 0, 1)).sum(axis=1)
    )
    assert_close(
        losses.diagonal_normal_log_density(eps, lv),
        np.log(_numpy_normal_pdf(z, m, np.exp(0.5 * lv))).sum(axis=1),
        rtol=1e-4,
    )


def _mlp_vae(model_class=vae_tf.VAE, **kwargs):
    encoder, decoder = vae_tf.build_encoder_decoder("mlp", latent_dim=2)
    return model_class(encoder, decoder, seed=0, **kwargs)


class TraceCountingVAE(vae_tf.VAE):
    """Counts how often train_step's Python body runs: once per trace when compiled."""

    traces = 0

    def train_step(self, data):
        self.traces += 1
        return super().train_step(data)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian", "gaussian_learned", "mse"])
def test_each_likelihood_matches_an_independent_computation(likelihood):
    model = _mlp_vae(likelihood=likelihood, sigma=0.2)
    x = RNG.uniform(size=(3, 28, 28, 1)).astype("float32")
    logits = RNG.normal(size=(3, 28, 28, 1)).astype("float32")
    p = 1 / (1 + np.exp(-logits.astype("float64")))
    sigma = 0.2
    if likelihood == "gaussian_learned":
        sigma = 0.35
        model.log_sigma.assign(math.log(sigma))
    expected = (
        {
            "bernoulli": -(x * np.log(p) + (1 - x) * np.log(1 - p)),
            "gaussian": -np.log(_numpy_normal_pdf(x, p, sigma)),
            "gaussian_learned": -np.log(_numpy_normal_pdf(x, p, sigma)),
            "mse": (x - p) ** 2,
        }[likelihood]
        .reshape(3, -1)
        .sum(axis=1)
    )
    assert_close(model.reconstruction_nll(x, logits), expected, rtol=1e-4)


def test_learned_sigma_is_trained_and_kept_above_its_floor(mnist_small):
    (x, _), _ = mnist_small
    model = _mlp_vae(likelihood="gaussian_learned", sigma=1.0)
    assert "log_sigma" in [w.name for w in model.trainable_weights]
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    model.fit(x[:256], epochs=2, batch_size=64, verbose=0)
    # Residuals of MNIST pixels are far below 1: sigma shrinks.
    assert float(model.log_sigma.numpy()) < -0.2
    model.log_sigma.assign(-50.0)
    logits = np.zeros((1, 28, 28, 1), "float32")
    assert_close(
        model.reconstruction_nll(x[:1], logits),
        losses.gaussian_nll(x[:1], np.full_like(logits, 0.5), MIN_LOG_SIGMA),
    )


def test_unknown_likelihood_and_bad_settings_are_refused():
    with pytest.raises(ValueError, match="likelihood must be one of"):
        _mlp_vae(likelihood="poisson")
    with pytest.raises(ValueError, match="sigma must be"):
        _mlp_vae(likelihood="gaussian", sigma=0)
    with pytest.raises(ValueError, match="free_bits must be"):
        _mlp_vae(free_bits=-1)
    with pytest.raises(ValueError, match="z_log_var_clip"):
        _mlp_vae(z_log_var_clip=0)


def _objective(model, reconstruction, kl_per_dimension):
    """The objective the training step optimizes for these per-example terms."""
    terms = model.elbo_terms(reconstruction, kl_per_dimension)
    return batch_objective(terms)[0]


def test_free_bits_floor_each_dimensions_batch_mean():
    model = _mlp_vae(free_bits=0.5, beta=2.0)
    reconstruction = np.array([100.0, 120.0], "float32")
    kl = np.array([[0.1, 2.0, 0.3], [0.3, 4.0, 0.5]], "float32")  # batch means .2, 3, .4
    expected = 110.0 + 2.0 * (0.5 + 3.0 + 0.5)
    assert_close(_objective(model, reconstruction, kl), expected)
    without = _mlp_vae(beta=2.0)
    assert_close(_objective(without, reconstruction, kl), 110.0 + 2.0 * kl.sum(axis=1).mean())


def test_z_log_var_clip_bounds_the_posterior_variance():
    encoder, decoder = vae_tf.build_encoder_decoder("mlp", latent_dim=2)
    encoder.get_layer("z_log_var").bias.assign([40.0, -40.0])
    images = np.zeros((2, 28, 28, 1), "float32")
    _, unclipped = vae_tf.VAE(encoder, decoder).encode(images)
    assert_close(unclipped, [[40.0, -40.0]] * 2)
    _, clipped = vae_tf.VAE(encoder, decoder, z_log_var_clip=5.0).encode(images)
    assert_close(clipped, [[5.0, -5.0]] * 2)


def test_beta_weighs_the_optimized_loss_but_not_total_loss(mnist_small):
    (x, _), _ = mnist_small
    model = _mlp_vae(beta=4.0)
    model.compile(optimizer="adam")
    logs = model.evaluate(x[:256], batch_size=256, verbose=0, return_dict=True)
    assert_close(logs["loss"], logs["reconstruction_loss"] + 4.0 * logs["kl_loss"], rtol=1e-5)
    assert_close(logs["total_loss"], logs["reconstruction_loss"] + logs["kl_loss"], rtol=1e-5)


@pytest.mark.parametrize(
    "schedule, expected",
    [
        # 4 steps per epoch, weights step / 8, averaged per epoch.
        (KLWarmup(2), [1.5 / 8, 5.5 / 8, 1.0]),
        (KLWarmup(6, unit="steps"), [1.5 / 6, (4 + 5 + 6 + 6) / 24, 1.0]),
        # 12 steps, 2 cycles of 6 rising over 3: 0, 1/3, 2/3, 1, 1, 1, 0, ...
        (CyclicalKLAnnealing(2, ratio=0.5), [2 / 4, (2 + 1 / 3) / 4, (2 / 3 + 3) / 4]),
    ],
)
@pytest.mark.parametrize("steps_per_execution", [1, 3])
def test_kl_schedules_drive_the_weight_without_retracing(
    mnist_small, schedule, expected, steps_per_execution
):
    # With 3 steps per call (calls of 3 and 1 steps per epoch), every step
    # still takes its own weight: a weight set once per call would average
    # (0 + 0 + 0 + 3) / 8 in the warm-up's first epoch, not 1.5 / 8.
    (x, _), _ = mnist_small
    model = _mlp_vae(TraceCountingVAE, beta=2.0)
    model.compile(optimizer="adam", steps_per_execution=steps_per_execution)
    traces = []
    count_traces = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: traces.append(model.traces)
    )
    history = model.fit(
        x[:256], epochs=3, batch_size=64, verbose=0, callbacks=[schedule, count_traces]
    ).history
    assert_close(history["kl_weight"], 2.0 * np.array(expected), rtol=1e-5)
    assert_close(
        history["loss"][0],
        history["reconstruction_loss"][0] + history["kl_weight"][0] * history["kl_loss"][0],
        rtol=0.05,
    )
    # The weight changed at every step; the step was traced in the first epoch only.
    assert traces[0] == traces[-1] > 0
    assert "val_kl_weight" not in history
    # Once the fit is over, the model is free of the schedule: a later fit
    # trains at the weight the model holds.
    assert model.kl_weight_feed is None
    model.beta = 0.5
    later = model.fit(x[:128], epochs=1, batch_size=64, verbose=0).history
    assert_close(later["kl_weight"], [0.5], rtol=1e-6)


class _Interrupt(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        raise KeyboardInterrupt


def test_a_schedules_weights_end_with_its_fit_however_it_ends(mnist_small):
    (x, _), _ = mnist_small
    model = _mlp_vae(TraceCountingVAE, beta=2.0)
    model.compile(optimizer="adam", steps_per_execution=3)
    with pytest.raises(KeyboardInterrupt):
        model.fit(
            x[:256], epochs=2, batch_size=64, verbose=0, callbacks=[KLWarmup(2), _Interrupt()]
        )
    # Nor does evaluating with the schedule among the callbacks attach it.
    model.evaluate(x[:64], batch_size=64, verbose=0, callbacks=[KLWarmup(2)])
    assert model.kl_weight_feed is None
    model.kl_weight.assign(1.5)  # the weight the model holds, not a stale feed's
    later = model.fit(x[:128], epochs=1, batch_size=64, verbose=0).history
    assert_close(later["kl_weight"], [1.5], rtol=1e-6)


def test_schedule_arguments_are_checked():
    with pytest.raises(ValueError, match="duration"):
        KLWarmup(0)
    with pytest.raises(ValueError, match="unit"):
        KLWarmup(3, unit="minutes")
    with pytest.raises(ValueError, match="ratio"):
        CyclicalKLAnnealing(4, ratio=0)
    with pytest.raises(ValueError, match="cycles"):
        CyclicalKLAnnealing(0)


def test_objective_settings_survive_saving(tmp_path):
    model = _mlp_vae(
        beta=3.0, likelihood="gaussian_learned", sigma=0.3, free_bits=0.25, z_log_var_clip=6.0
    )
    model.kl_weight.assign(1.5)
    model.log_sigma.assign(-1.7)
    path = str(tmp_path / "vae.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    for name in ("beta", "likelihood", "sigma", "free_bits", "z_log_var_clip"):
        assert getattr(loaded, name) == getattr(model, name)
    assert float(loaded.kl_weight.numpy()) == 1.5  # resumes where a schedule left it
    assert float(loaded.log_sigma.numpy()) == pytest.approx(-1.7)


def test_autoencoder_trains_with_the_same_step_and_tools(mnist_small, tmp_path):
    (x, y), (x_test, y_test) = mnist_small
    encoder, decoder = vae_tf.build_encoder_decoder("conv", 2, variational=False)
    assert len(encoder.outputs) == 1 and encoder.get_layer("z").units == 2
    ae = vae_tf.Autoencoder(encoder, decoder, seed=0)
    assert type(ae).train_step is vae_tf.VAE.train_step
    ae.compile(optimizer="adam")
    history = ae.fit(x[:256], epochs=2, batch_size=64, verbose=0).history
    assert history["kl_loss"] == [0.0, 0.0]
    assert_close(history["loss"], history["reconstruction_loss"])
    assert history["loss"][1] < history["loss"][0]
    z, z_log_var = ae.encode(x_test[:4])
    assert z_log_var is None and tuple(z.shape) == (4, 2)
    # Deterministic: reconstruct and call agree whatever `training` says.
    assert_close(ae.reconstruct(x_test[:4], sample=True), ae.reconstruct(x_test[:4]))
    path = str(tmp_path / "ae.keras")
    ae.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, vae_tf.Autoencoder) and "beta" not in loaded.get_config()
    assert_close(loaded.decode([[0.5, -1.0]]), ae.decode([[0.5, -1.0]]))
    vae_tf.export_saved_model(ae, tmp_path / "saved_model")
    saved = tf.saved_model.load(str(tmp_path / "saved_model"))
    assert_close(saved.encode(x_test[:4])["z"], z, atol=1e-5)
    paths = vae_tf.plotting.write_figures(
        ae,
        tmp_path / "figures",
        x_test[:64],
        y_test[:64],
        history,
        figures=["latent_scatter", "samples", "latent_traversal"],
    )
    assert len(paths) == 3


def test_autoencoder_refuses_a_variational_encoder():
    encoder, decoder = vae_tf.build_encoder_decoder("mlp", 2)
    with pytest.raises(ValueError, match="variational=False"):
        vae_tf.Autoencoder(encoder, decoder)


def test_setting_beta_sets_the_weight_the_step_reads(mnist_small):
    (x, _), _ = mnist_small
    model = _mlp_vae()
    model.compile(optimizer="adam")
    model.beta = 3.0
    assert float(model.kl_weight.numpy()) == 3.0
    logs = model.evaluate(x[:128], batch_size=128, verbose=0, return_dict=True)
    assert_close(logs["loss"], logs["reconstruction_loss"] + 3.0 * logs["kl_loss"], rtol=1e-5)
    with pytest.raises(ValueError, match="beta must be"):
        model.beta = -1


def test_models_saved_before_the_kl_weight_existed_still_load():
    # vae_tf 0.1.0 files store no variables of the VAE itself.
    model = _mlp_vae(beta=2.0)
    model.load_own_variables({})
    assert float(model.kl_weight.numpy()) == 2.0
    model.load_own_variables({"0": np.float32(0.5)})
    assert float(model.kl_weight.numpy()) == 0.5
