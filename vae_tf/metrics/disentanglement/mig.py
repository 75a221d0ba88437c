"""How well a code separates known factors of variation: the mutual information gap (MIG).

MIG (Chen et al., 2018): for each factor v_k, the mutual information
I(z_j; v_k) with every code dimension j, in nats; the gap between the most
and the second most informative dimension, divided by the factor's entropy
H(v_k); averaged over the factors. 1 when every factor lives in one
dimension of its own and nowhere else; 0 when no dimension knows more about
a factor than another.

The code of an image is its posterior mean, discretized per dimension into
`bins` equal-width bins over its range (20, as in disentanglement_lib,
Locatello et al., 2019); factors are integer indices. Discretizing bounds
the information a dimension can carry at log(bins): a factor with more
values than bins (dSprites' 40 orientations, 32 positions) cannot reach a
gap of 1 even when copied exactly.

Example:

```python
codes = vae_tf.latent.encode_means(vae, x_test)
result = mutual_information_gap(codes, factors)          # factors (N, K) integer indices
result["mig"], result["gaps"], result["mutual_information"]   # (K,), (latent_dim, K)
```
"""

import numpy as np

from vae_tf.metrics.disentanglement.inputs import check_codes_and_factors

BINS = 20


def discretize(codes, bins=BINS):
    """Each column of `codes` `(N, D)` as bin indices `0..bins-1` of equal width over its range."""
    codes = np.asarray(codes, "float64")
    if codes.ndim != 2:
        raise ValueError(f"codes must have shape (N, latent_dim); got {codes.shape}.")
    if not np.isfinite(codes).all():
        raise ValueError("codes hold NaN or infinite values.")
    low, high = codes.min(axis=0), codes.max(axis=0)
    width = np.where(high > low, (high - low) / bins, 1.0)
    return np.clip(((codes - low) / width).astype(int), 0, bins - 1)


def entropy(values):
    """The entropy (nats) of the empirical distribution of integer `values` `(N,)`."""
    _, counts = np.unique(values, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p)))


def mutual_information(a, b):
    """The mutual information (nats) of two integer arrays `(N,)`, from their joint counts."""
    a, b = np.unique(a, return_inverse=True)[1], np.unique(b, return_inverse=True)[1]
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1)
    joint /= joint.sum()
    outer = joint.sum(axis=1, keepdims=True) * joint.sum(axis=0, keepdims=True)
    nonzero = joint > 0
    return float(np.sum(joint[nonzero] * np.log(joint[nonzero] / outer[nonzero])))


def mutual_information_gap(codes, factors, bins=BINS, factor_names=None):
    """MIG of `codes` `(N, D)` against integer `factors` `(N, K)` (see the module's docstring).

    Args:
        codes: Posterior means (or any continuous code), one row per image.
        factors: The images' factor indices.
        bins: Bins of each code dimension.
        factor_names: Names of the K factors, for the result.

    Returns:
        A dict: `mig` (the mean gap), `gaps` (K,) (each factor's normalized
        gap), `mutual_information` (D, K) in nats, `entropies` (K,),
        `best_dimensions` (K,) (the most informative dimension of each
        factor), `factor_names`. A factor that never varies has no entropy
        to normalize by: its gap is NaN and it is left out of the mean.

    Raises:
        ValueError: for mismatched shapes, non-integer factors, NaN codes,
        D < 2, or no varying factor (`inputs.check_codes_and_factors`).
    """
    codes, factors = check_codes_and_factors(codes, factors)
    if codes.shape[1] < 2:
        raise ValueError("The gap needs at least two code dimensions to compare.")
    codes = discretize(codes, bins)
    names = list(factor_names or [f"factor {k}" for k in range(factors.shape[1])])
    information = np.array(
        [
            [mutual_information(codes[:, j], factors[:, k]) for k in range(factors.shape[1])]
            for j in range(codes.shape[1])
        ]
    )
    entropies = np.array([entropy(factors[:, k]) for k in range(factors.shape[1])])
    if not (entropies > 0).any():
        raise ValueError("No factor varies across these images: there is nothing to separate.")
    ordered = np.sort(information, axis=0)[::-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        gaps = np.where(entropies > 0, (ordered[0] - ordered[1]) / entropies, np.nan)
    return {
        "mig": float(np.nanmean(gaps)),
        "gaps": gaps,
        "mutual_information": information,
        "entropies": entropies,
        "best_dimensions": information.argmax(axis=0),
        "factor_names": names,
    }
