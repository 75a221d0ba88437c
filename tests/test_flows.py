"""Flow posteriors: planar and inverse autoregressive flows (vae_tf.models.flows).

The log-determinants against the Jacobians TensorFlow differentiates, the
inverses against the forward maps, the autoregressive structure of the
MADEs, the densities against a numerical integral, the model's code, and
the harness for both flows.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from harness import run_variant_test

import vae_tf
from vae_tf.models import FlowPosterior
from vae_tf.models import InverseAutoregressiveFlow
from vae_tf.models import PlanarFlow
from vae_tf.models.posteriors import DiagonalGaussian

FLOWS = {"planar": PlanarFlow, "iaf": InverseAutoregressiveFlow}


def numpy(value):
    return keras.ops.convert_to_numpy(value)


def random_inputs(count, latent_dim, context_dim, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(count, latent_dim)).astype("float32")
    return z, rng.normal(size=(count, context_dim)).astype("float32")


def moved(flow, seed=1):
    """The flow with every weight drawn anew: steps far from the identity, well conditioned."""
    rng = np.random.default_rng(seed)
    for weight in flow.weights:
        scale = 1.0 / np.sqrt(weight.shape[0]) if len(weight.shape) == 2 else 0.5
        weight.assign(rng.normal(scale=scale, size=weight.shape).astype("float32"))
    return flow


@pytest.mark.parametrize("kind", sorted(FLOWS))
def test_the_log_determinant_is_that_of_the_jacobian_and_the_inverse_undoes_the_flow(kind):
    flow = moved(FLOWS[kind](latent_dim=4, context_dim=6, steps=3))
    z, context = random_inputs(5, 4, 6)
    z = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(z)
        y, log_det = flow.forward(z, context)
    jacobian = numpy(tape.batch_jacobian(y, z)).astype("float64")
    expected = np.log(np.abs(np.linalg.det(jacobian)))
    np.testing.assert_allclose(numpy(log_det), expected, atol=2e-4)
    assert 0.5 < np.abs(expected).max() < 15, "the steps hardly move, or nearly fold: a weak test"
    z_again, log_det_again = flow.inverse(y, context)
    np.testing.assert_allclose(numpy(z_again), numpy(z), atol=2e-4)
    np.testing.assert_allclose(numpy(log_det_again), numpy(log_det), atol=2e-4)


def test_planar_steps_stay_invertible_where_the_raw_parameters_are_not():
    flow = PlanarFlow(latent_dim=2, context_dim=1, steps=1)
    # u = -3 w: w.u = -6 < -1, a fold without the constraint (two z for one y).
    flow.kernel.assign(np.zeros((1, 5), "float32"))
    flow.bias.assign(np.array([-3.0, 0.0, 1.0, 0.0, 0.0], "float32"))
    grid = np.stack(np.meshgrid(np.linspace(-3, 3, 61), [0.0]), -1).reshape(-1, 2)
    y, log_det = flow.forward(grid.astype("float32"), np.ones((len(grid), 1), "float32"))
    assert np.all(np.diff(numpy(y)[:, 0]) > 0), "the first coordinate must stay monotone"
    assert np.all(np.isfinite(numpy(log_det)))


@pytest.mark.parametrize("step", [0, 1])
def test_each_iaf_step_is_autoregressive_in_its_own_order(step):
    d = 5
    flow = moved(InverseAutoregressiveFlow(latent_dim=d, context_dim=3, steps=2, hidden_units=8))
    z, context = random_inputs(3, d, 3)
    z, context = tf.constant(z), tf.constant(context)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([z, context])
        m, s = flow.shift_and_gate(step, z, context)
    order = np.arange(d) if step == 0 else np.arange(d)[::-1]
    for output in (m, s):
        jacobian = np.abs(numpy(tape.batch_jacobian(output, z))).max(axis=0)  # (out, in)
        permuted = jacobian[np.ix_(order, order)]
        assert np.all(np.triu(permuted) == 0), "output i sees input i or a later one"
        assert np.all(permuted[np.tril_indices(d, -1)] > 0), "output i misses an input before it"
        # Every output sees the context, the first of the order (which sees no z) included.
        reach = np.abs(numpy(tape.batch_jacobian(output, context))).max(axis=(0, 2))
        assert np.all(reach > 0), reach


def test_iaf_of_one_dimension_is_conditioned_on_the_context_alone():
    flow = moved(InverseAutoregressiveFlow(latent_dim=1, context_dim=3, steps=2))
    z, context = random_inputs(4, 1, 3)
    y, log_det = flow.forward(z, context)
    z_again, _ = flow.inverse(y, context)
    # (float32's rounding of y, divided by the steps' gates)
    np.testing.assert_allclose(numpy(z_again), z, atol=1e-4)
    with pytest.raises(ValueError, match="at least latent_dim - 1 = 9 hidden units"):
        InverseAutoregressiveFlow(latent_dim=10, context_dim=3, hidden_units=8)


@pytest.mark.parametrize("kind", sorted(FLOWS))
def test_the_flow_posterior_is_a_density_of_its_draws(kind):
    """exp(log_prob) integrates to 1 over the plane, and the draws follow it."""
    flow = moved(FLOWS[kind](latent_dim=2, context_dim=3, steps=2), seed=2)
    context = np.random.default_rng(3).normal(size=(1, 3)).astype("float32")
    base = DiagonalGaussian(np.array([[0.3, -0.2]], "float32"), np.array([[0.2, -0.4]], "float32"))
    posterior = FlowPosterior(base, flow, context)
    draws, log_q = posterior.sample_and_log_prob(seed_or_noise=0, num_samples=20000)
    draws = numpy(draws)[0]
    low, high = draws.min(axis=0) - 1.0, draws.max(axis=0) + 1.0
    xs, ys = (np.linspace(low[i], high[i], 300) for i in range(2))
    grid = np.stack(np.meshgrid(xs, ys), -1).reshape(1, -1, 2).astype("float32")
    density = np.exp(numpy(posterior.log_prob(grid))[0]).astype("float64")
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert density.sum() * cell == pytest.approx(1.0, abs=0.02)
    # The draws' log q, against the density on the grid by inversion.
    np.testing.assert_allclose(
        numpy(posterior.log_prob(draws[None, :50]))[0], numpy(log_q)[0, :50], atol=1e-3
    )
    # The share of draws in the left half, against the integral of the density there.
    middle = np.median(xs)
    left = density.reshape(300, 300)[:, xs < middle].sum() * cell
    assert np.mean(draws[:, 0] < middle) == pytest.approx(left, abs=0.02)


def flow_model(kind, latent_dim=2, **kwargs):
    networks = vae_tf.build_encoder_decoder("mlp", latent_dim, context_dim=16)
    return vae_tf.VAE(*networks, flow=kind, seed=0, **kwargs)


def test_the_code_shown_is_the_flows_image_of_the_gaussians_mean(mnist_small):
    (x, _), _ = mnist_small
    model = flow_model("iaf", latent_dim=3, flow_steps=2)
    z_mean, z_log_var, context = model.encoder(x[:5])
    expected, _ = model.flow.forward(z_mean, context)
    code, spread = model.encode(x[:5])
    np.testing.assert_allclose(numpy(code), numpy(expected), atol=1e-6)
    assert spread is None
    parameters = model.encode_posterior(x[:5]).parameters()
    assert sorted(parameters) == ["z", "z0_log_var", "z0_mean"]
    np.testing.assert_allclose(numpy(parameters["z0_mean"]), numpy(z_mean))
    assert model.kl_estimate == "Monte Carlo"
    usage, name, codes = vae_tf.latent.dimension_usage(model, x[:32])
    assert name == "var of code"
    np.testing.assert_allclose(usage, codes.var(axis=0), rtol=1e-6)


def test_combinations_a_flow_cannot_train_are_refused_with_the_reason():
    run = dict(latent_dim=2, epochs=1)
    bad = {
        "flow_steps without a flow": (dict(flow_steps=3), "flow_steps=3 without a flow"),
        "the autoencoder": (
            dict(model="autoencoder", posterior="iaf"),
            "posterior cannot apply.*model=vae",
        ),
        "the VampPrior": (dict(posterior="planar", prior="vamp"), "flow's inverse"),
        "free bits": (
            dict(posterior="iaf", free_bits=0.5),
            "a flow posterior has no per-dimension KL",
        ),
        "two layers": (
            dict(posterior="iaf", stochastic_layers=2, architecture="mlp"),
            "one stochastic layer",
        ),
        "no steps": (dict(posterior="iaf", flow_steps=0), "flow_steps must be"),
        "a typo": (dict(posterior="maf"), r"posterior must be one of \('gaussian', 'planar'"),
    }
    for case, (settings, message) in bad.items():
        with pytest.raises(ValueError, match=message):
            vae_tf.TrainConfig(**{**run, **settings}).validate()
            pytest.fail(case)
    vae_tf.TrainConfig(**run, posterior="iaf", flow_steps=8, prior="mog").validate()


def keras_io_encoder(latent_dim=2):
    """The keras.io example's encoder: its third output is a sample of z, noise."""
    images = keras.Input((28, 28, 1))
    x = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(images))
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(x)
    z = vae_tf.Sampler(name="z")([z_mean, z_log_var])
    return keras.Model(images, [z_mean, z_log_var, z])


def test_a_flow_model_needs_the_encoders_context_and_a_flow_of_its_size():
    networks = vae_tf.build_encoder_decoder("mlp", 2)
    with pytest.raises(ValueError, match="three outputs.*context_dim="):
        vae_tf.VAE(*networks, flow="iaf")
    # A sample of z is no context: the flow would be conditioned on noise.
    with pytest.raises(ValueError, match=r"named 'context'.*\['z_mean', 'z_log_var', 'z'\]"):
        vae_tf.VAE(keras_io_encoder(), networks[1], flow="planar")
    vae_tf.VAE(keras_io_encoder(), networks[1])  # without a flow, the sample is ignored
    networks = vae_tf.build_encoder_decoder("mlp", 2, context_dim=16)
    with pytest.raises(ValueError, match="context of 8.*context_dim=16"):
        vae_tf.VAE(*networks, flow=PlanarFlow(2, 8))
    with pytest.raises(ValueError, match="flow_steps=3 but the flow given has 4"):
        vae_tf.VAE(*networks, flow=PlanarFlow(2, 16), flow_steps=3)
    with pytest.raises(ValueError, match="flow must be one of"):
        vae_tf.VAE(*networks, flow="realnvp")
    with pytest.raises(ValueError, match="flow's inverse"):
        vae_tf.VAE(*networks, flow="planar", prior="vamp", prior_components=3)
    with pytest.raises(ValueError, match="deterministic encoder"):
        vae_tf.build_encoder("mlp", 2, variational=False, context_dim=16)


@pytest.mark.slow  # the SavedModel and two replicas in a fresh process
@pytest.mark.parametrize(
    "kind, settings",
    [("planar", dict(flow_steps=3)), ("iaf", dict(flow_steps=2, objective="iwae", num_samples=2))],
)
def test_flow_models_pass_the_harness(kind, settings, mnist_small, tmp_path):
    keras.utils.set_random_seed(0)
    (x, _), _ = mnist_small
    model = flow_model(kind, latent_dim=3, **settings)
    run_variant_test(model, x[:64], tmp_path=tmp_path)


def test_the_flows_configs_round_trip_and_the_disentangling_models_refuse_a_flow():
    for flow in (PlanarFlow(3, 5, steps=2), InverseAutoregressiveFlow(3, 5, steps=2)):
        copy = type(flow).from_config(flow.get_config())
        assert copy.get_config() == flow.get_config()
        assert [w.shape for w in copy.weights] == [w.shape for w in flow.weights]
    networks = vae_tf.build_encoder_decoder("mlp", 2, context_dim=16)
    for model_class, reason in (
        (vae_tf.BetaTCVAE, "estimators of q\\(z\\)"),
        (vae_tf.FactorVAE, "closed-form KL"),
        (vae_tf.DIPVAE, "covariance"),
    ):
        with pytest.raises(ValueError, match=f"{model_class.__name__} takes no flow: .*{reason}"):
            model_class(*networks, flow="iaf")
