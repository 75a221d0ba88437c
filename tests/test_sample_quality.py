"""Fréchet distance, precision and recall against closed forms and brute force."""

import math

import numpy as np
import pytest

from vae_tf.metrics import frechet_distance
from vae_tf.metrics import gaussian_frechet_distance
from vae_tf.metrics import precision_recall
from vae_tf.metrics.sample_quality import knn_radii

RNG = np.random.default_rng(0)


def test_a_set_against_itself_is_at_distance_zero():
    features = RNG.normal(size=(500, 8)) @ RNG.normal(size=(8, 8))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_diagonal_gaussians_match_the_closed_form():
    mean_a, mean_b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([2.0, 1.0, 0.25])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    actual = gaussian_frechet_distance(mean_a, np.diag(var_a), mean_b, np.diag(var_b))
    assert actual == pytest.approx(expected, rel=1e-12)


def test_non_commuting_covariances_match_the_two_by_two_identity():
    # For 2x2 M with real non-negative eigenvalues, tr(sqrt(M)) = sqrt(tr M + 2 sqrt(det M)).
    cov_a = np.array([[2.0, 0.8], [0.8, 1.0]])
    cov_b = np.array([[1.0, -0.6], [-0.6, 3.0]])
    product = cov_a @ cov_b
    cross = math.sqrt(np.trace(product) + 2 * math.sqrt(np.linalg.det(product)))
    mean_a, mean_b = np.array([0.5, -1.0]), np.array([0.0, 0.0])
    expected = 1.25 + np.trace(cov_a) + np.trace(cov_b) - 2 * cross
    assert gaussian_frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(expected)
    assert gaussian_frechet_distance(mean_b, cov_b, mean_a, cov_a) == pytest.approx(expected)


def test_sample_estimate_approaches_the_gaussians_distance():
    cov_a = np.array([[2.0, 0.8], [0.8, 1.0]])
    cov_b = np.array([[1.0, -0.6], [-0.6, 3.0]])
    a = RNG.multivariate_normal([0.5, -1.0], cov_a, size=200_000)
    b = RNG.multivariate_normal([0.0, 0.0], cov_b, size=200_000)
    expected = gaussian_frechet_distance([0.5, -1.0], cov_a, [0.0, 0.0], cov_b)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.02)


def test_knn_radii_match_brute_force():
    features = RNG.normal(size=(300, 5))
    distances = np.sum((features[:, None] - features[None]) ** 2, axis=-1)
    np.fill_diagonal(distances, np.inf)
    for k in (1, 3, 10):
        expected = np.sort(distances, axis=1)[:, k - 1]
        np.testing.assert_allclose(knn_radii(features, k, batch_size=64), expected, rtol=1e-9)


def test_identical_sets_have_full_precision_and_recall():
    features = RNG.normal(size=(400, 6))
    assert precision_recall(features, features.copy()) == (1.0, 1.0)


def test_disjoint_sets_have_none():
    real = RNG.normal(size=(400, 6))
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)


def test_a_model_covering_half_the_data_is_precise_with_half_the_recall():
    real = RNG.uniform(size=(4000, 2))
    generated = RNG.uniform(size=(2000, 2)) * [0.5, 1.0]  # only the left half of the square
    precision, recall = precision_recall(real, generated, k=3, batch_size=500)
    assert precision > 0.97
    assert recall == pytest.approx(0.5, abs=0.04)


@pytest.mark.parametrize(
    "real, generated, message",
    [
        (np.zeros((10, 3)), np.zeros((10, 4)), "differ in size"),
        (np.zeros((10, 3)), np.full((10, 3), np.nan), "NaN"),
        (np.zeros(10), np.zeros((10, 3)), "shape"),
    ],
)
def test_bad_features_are_refused(real, generated, message):
    with pytest.raises(ValueError, match=message):
        frechet_distance(real, generated)
    with pytest.raises(ValueError, match=message):
        precision_recall(real, generated)


def test_k_must_leave_neighbours():
    with pytest.raises(ValueError, match="k must be from 1 to 4"):
        precision_recall(np.zeros((5, 2)), np.ones((5, 2)), k=5)
