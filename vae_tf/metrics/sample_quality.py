"""How good and how varied generated images are, in a feature space: FID, precision, recall.

- `frechet_distance(real, generated)`: the Fréchet (2-Wasserstein) distance
  between Gaussians fitted to the two sets of features, the "FID" when the
  features are a classifier's (Heusel et al., 2017).
- `precision_recall(real, generated, k=3)`: Kynkäänniemi et al. (2019).
  Precision is the fraction of generated samples inside the real manifold
  (the union of balls around each real feature reaching its k-th nearest
  real neighbour): how realistic the samples are. Recall is the fraction of
  real samples inside the generated manifold: how much of the data the
  model covers.

Everything takes `(N, D)` feature arrays and computes in float64 with numpy.

Example:

```python
fid = frechet_distance(real_features, generated_features)
precision, recall = precision_recall(real_features, generated_features, k=3)
```
"""

import numpy as np


def _features(name, features):
    features = np.asarray(features, "float64")
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(
            f"{name} must be features of shape (N, D) with N >= 2; got {features.shape}."
        )
    if not np.isfinite(features).all():
        raise ValueError(f"{name} holds NaN or infinite values.")
    return features


def _feature_pair(real, generated):
    real, generated = _features("real", real), _features("generated", generated)
    if real.shape[1] != generated.shape[1]:
        raise ValueError(
            f"real and generated features differ in size: {real.shape[1]} and {generated.shape[1]}."
        )
    return real, generated


def _sqrt_psd(matrix):
    """The symmetric square root of a symmetric positive semi-definite matrix."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def gaussian_frechet_distance(mean_a, cov_a, mean_b, cov_b):
    """`|m_a - m_b|^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2))` between two Gaussians.

    The trace of `(C_a C_b)^(1/2)` is that of `(C_a^(1/2) C_b C_a^(1/2))^(1/2)`,
    a symmetric matrix: its eigenvalues give it without a general matrix
    square root (no SciPy, no complex round-off).
    """
    mean_a, mean_b = np.asarray(mean_a, "float64"), np.asarray(mean_b, "float64")
    cov_a, cov_b = np.asarray(cov_a, "float64"), np.asarray(cov_b, "float64")
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * cross
    return float(max(distance, 0.0))


def frechet_distance(real, generated):
    """The Fréchet distance between Gaussians fitted to two sets of features `(N, D)`.

    Means and covariances (with N - 1 in the denominator) of each set; 0 for
    a set against itself. Its value depends on the number of samples (the
    covariance estimates are biased): compare figures computed with the same
    counts.
    """
    real, generated = _feature_pair(real, generated)
    return gaussian_frechet_distance(
        real.mean(axis=0),
        np.cov(real, rowvar=False).reshape(real.shape[1], -1),
        generated.mean(axis=0),
        np.cov(generated, rowvar=False).reshape(real.shape[1], -1),
    )


def _squared_distances(a, b):
    # |a|^2 + |b|^2 - 2 a.b, clipped: round-off can make it slightly negative.
    return np.clip(
        np.sum(a**2, axis=1)[:, None] + np.sum(b**2, axis=1)[None, :] - 2 * a @ b.T, 0.0, None
    )


def knn_radii(features, k=3, batch_size=1024):
    """Squared distance from each row of `features` to its k-th nearest other row."""
    features = np.asarray(features, "float64")
    if not 1 <= k < len(features):
        raise ValueError(f"k must be from 1 to {len(features) - 1} (N - 1); got {k}.")
    radii = np.empty(len(features))
    for start in range(0, len(features), batch_size):
        distances = _squared_distances(features[start : start + batch_size], features)
        # Each row's smallest distance is to itself (0): the k-th other is at k.
        radii[start : start + batch_size] = np.partition(distances, k, axis=1)[:, k]
    return radii


def manifold_coverage(manifold, queries, k=3, batch_size=1024):
    """The fraction of `queries` inside the k-NN manifold of `manifold` (balls around its rows)."""
    radii = knn_radii(manifold, k, batch_size)
    inside = np.empty(len(queries), bool)
    for start in range(0, len(queries), batch_size):
        distances = _squared_distances(queries[start : start + batch_size], manifold)
        inside[start : start + batch_size] = np.any(distances <= radii[None, :], axis=1)
    return float(inside.mean())


def precision_recall(real, generated, k=3, batch_size=1024):
    """`(precision, recall)` of generated features against real ones (Kynkäänniemi et al., 2019).

    Args:
        real: Features of real images `(N, D)`.
        generated: Features of generated images `(M, D)`.
        k: The neighbour whose distance is each ball's radius (3 in the paper).
        batch_size: Rows of the distance matrix computed at once (memory).
    """
    real, generated = _feature_pair(real, generated)
    precision = manifold_coverage(real, generated, k, batch_size)
    recall = manifold_coverage(generated, real, k, batch_size)
    return precision, recall
