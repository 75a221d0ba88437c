import numpy as np
import pytest
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
