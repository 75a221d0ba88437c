import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_close

from vae_tf import losses


def numpy_bernoulli_nll(x, logits):
    p = 1.0 / (1.0 + np.exp(-logits.astype("float64")))
    ll = x * np.log(p) + (1.0 - x) * np.log(1.0 - p)
    return -ll.reshape(len(x), -1).sum(axis=1)


def test_bernoulli_nll_matches_numpy_on_grey_pixels():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(5, 4, 3, 2)).astype("float32")
    logits = rng.normal(scale=3.0, size=x.shape).astype("float32")
    result = losses.bernoulli_nll(x, logits)
    assert tuple(result.shape) == (5,)
    assert_close(result, numpy_bernoulli_nll(x, logits), rtol=1e-5)


def test_bernoulli_nll_is_stable_for_extreme_logits():
    x = np.array([[1.0, 0.0, 1.0, 0.0]], "float32")
    logits = np.array([[-200.0, 200.0, 200.0, -200.0]], "float32")
    # log(1 + e^200) = 200 for each of the two wrong pixels; ~0 for the others.
    assert_close(losses.bernoulli_nll(x, logits), [400.0], rtol=1e-6)


def test_bernoulli_nll_from_probabilities_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(3, 28, 28, 1)).astype("float32")
    logits = rng.normal(size=x.shape)
    probabilities = (1.0 / (1.0 + np.exp(-logits))).astype("float32")
    assert_close(
        losses.bernoulli_nll_from_probabilities(x, probabilities),
        numpy_bernoulli_nll(x, logits),
        rtol=1e-4,
    )


def test_bernoulli_nll_from_probabilities_clips_zero_and_one():
    x = np.array([[1.0, 0.0]], "float32")
    result = losses.bernoulli_nll_from_probabilities(x, np.array([[0.0, 1.0]], "float32"))
    # 1 - EPSILON rounds to float32 before the log of its complement is taken.
    high = np.float64(np.float32(1.0 - losses.EPSILON))
    assert_close(result, [-np.log(losses.EPSILON) - np.log1p(-high)], rtol=1e-4)


def test_kl_closed_form():
    z_mean = np.array([[0.0, 0.0], [1.0, -2.0]], "float32")
    z_log_var = np.array([[0.0, 0.0], [np.log(4.0), 0.5]], "float32")
    expected = [0.0, 0.5 * ((4.0 + 1.0 - 1.0 - np.log(4.0)) + (np.exp(0.5) + 4.0 - 1.0 - 0.5))]
    assert_close(losses.gaussian_kl(z_mean, z_log_var), expected, rtol=1e-6)


def test_kl_matches_monte_carlo_estimate():
    rng = np.random.default_rng(2)
    z_mean = rng.normal(size=(3, 4))
    z_log_var = rng.normal(scale=0.5, size=(3, 4))
    std = np.exp(0.5 * z_log_var)
    z = z_mean + std * rng.standard_normal(size=(200_000, 3, 4))
    log_q = -0.5 * (((z - z_mean) / std) ** 2 + np.log(2 * np.pi) + z_log_var)
    log_p = -0.5 * (z**2 + np.log(2 * np.pi))
    monte_carlo = (log_q - log_p).sum(axis=-1).mean(axis=0)
    closed_form = np.asarray(losses.gaussian_kl(z_mean, z_log_var))
    # Standard error of the estimate is about 0.005 here.
    assert_close(closed_form, monte_carlo, rtol=0.02, atol=0.03)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_losses_compute_in_float32(dtype):
    import keras

    x = keras.ops.cast(np.full((2, 3), 0.5), dtype)
    assert losses.bernoulli_nll(x, x).dtype == "float32"
    assert losses.gaussian_kl(x, x).dtype == "float32"


def test_mixture_density_keeps_its_digits_and_gradients_with_tiny_variances():
    # Components with variances down to e^-9 and codes far from the origin:
    # the expanded quadratic forms reach 1e6 while a close component's is
    # about latent_dim. The value must match the float64 broadcast to 1e-4
    # nats, and the gradients its central differences to 1e-4 of their
    # scale (the codes' is computed in float32; the log-variances' cancels
    # to 1/p of its terms, and was 2% off in float32).
    rng = np.random.default_rng(0)
    latent_dim, components = 8, 5
    means = rng.normal(3.0, 1.0, (components, latent_dim))
    log_vars = rng.uniform(-9.0, 0.0, (components, latent_dim))
    chosen = rng.integers(0, components, 6)
    z = means[chosen] + np.exp(0.5 * log_vars[chosen]) * rng.normal(size=(6, latent_dim))
    log_weights = np.log(np.full(components, 1.0 / components))

    def reference(z, means, log_vars):
        diff = z[:, None, :] - means[None]
        per_component = -0.5 * np.sum(
            diff**2 * np.exp(-log_vars) + log_vars + np.log(2 * np.pi), axis=-1
        )
        top = per_component.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(per_component - top).sum(axis=1, keepdims=True)))[:, 0]

    tensors = [tf.constant(value, "float32") for value in (z, means, log_vars)]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        density = losses.diagonal_mixture_log_density(*tensors, log_weights)
        total = tf.reduce_sum(density)
    gradients = tape.gradient(total, tensors)
    inputs64 = [tensor.numpy().astype("float64") for tensor in tensors]
    expected = reference(*inputs64) + np.log(1.0 / components)
    assert_close(density, expected, atol=1e-4)
    # A training step's float32 path: within rounding of the large terms.
    with losses.in_training_step():
        assert_close(
            losses.diagonal_mixture_log_density(*tensors, log_weights), expected, atol=0.05
        )
    # Central differences of the float64 reference, for every input.
    for index, gradient in enumerate(gradients):
        numeric = np.zeros_like(inputs64[index])
        for position in np.ndindex(numeric.shape):
            step = np.zeros_like(numeric)
            step[position] = 1e-6
            moved = [value + step if i == index else value for i, value in enumerate(inputs64)]
            back = [value - step if i == index else value for i, value in enumerate(inputs64)]
            numeric[position] = (reference(*moved).sum() - reference(*back).sum()) / 2e-6
        scale = np.abs(numeric).max()
        assert_close(gradient, numeric, atol=1e-4 * scale)
