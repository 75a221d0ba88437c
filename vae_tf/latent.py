"""Latent-space maths shared by figures, callbacks, metrics and explorers (no matplotlib).

Grid coordinates, batched encoding, codes drawn from a model's prior, PCA,
linear and spherical interpolation, and how much each latent dimension is
used. Everything takes and returns numpy arrays.

Example:

```python
z = latent_grid_coordinates(n=30, z_range=(-2, 2))       # (900, 2), top-left first
path = slerp(z_start, z_end, np.linspace(0, 1, 10))       # (pairs, 10, latent_dim)
z_mean, z_log_var = encode_batches(vae, x_test)
```
"""

import statistics

import keras
import numpy as np

from vae_tf.models.posteriors import DiagonalGaussian


def grid_axis_values(n=30, z_range=(-2.0, 2.0), spacing="linear"):
    """The `n` latent values along one side of the grid, lowest first.

    Args:
        n: Images per side (at least 2).
        z_range: With `spacing="linear"`, the `(low, high)` latent values.
            With `spacing="quantile"`, the `(low, high)` probabilities, in
            (0, 1), whose standard-normal quantiles span the grid (Kingma &
            Welling's manifold plots use (0.05, 0.95)).
        spacing: `"linear"` (evenly spaced in z) or `"quantile"` (evenly
            spaced in probability under the N(0, 1) prior).
    """
    if n < 2:
        raise ValueError(f"The latent grid needs n >= 2 images per side; got n={n}.")
    low, high = z_range
    if not low < high:
        raise ValueError(f"z_range must be (low, high) with low < high; got {z_range}.")
    if spacing == "linear":
        return np.linspace(low, high, n)
    if spacing == "quantile":
        if not 0.0 < low < high < 1.0:
            raise ValueError(
                "With quantile spacing, z_range holds probabilities: 0 < low < "
                f"high < 1 (e.g. (0.05, 0.95)); got {z_range}."
            )
        normal = statistics.NormalDist()
        return np.array([normal.inv_cdf(p) for p in np.linspace(low, high, n)])
    raise ValueError(f"spacing must be 'linear' or 'quantile'; got {spacing!r}.")


def latent_grid_coordinates(n=30, z_range=(-2.0, 2.0), spacing="linear"):
    """The `(n * n, 2)` latent codes of the grid, row by row from the top-left.

    Rows go from the highest `z[1]` (top) to the lowest; columns from the
    lowest `z[0]` (left) to the highest, as on a plot's axes.
    """
    values = grid_axis_values(n, z_range, spacing)
    grid = np.stack(np.meshgrid(values, values[::-1]), axis=-1)
    return grid.reshape(-1, 2).astype("float32")


def encode_batches(model, images, labels=None, batch_size=256):
    """`(z_mean, z_log_var)` of `images` as numpy, encoded `batch_size` at a time.

    `labels` only for a conditional VAE. An `Autoencoder` gives `(z, None)`.
    """
    images = np.asarray(images, "float32")
    parts = []
    for start in range(0, len(images), batch_size):
        part_labels = None if labels is None else np.asarray(labels)[start : start + batch_size]
        parts.append(model.encode(images[start : start + batch_size], part_labels))
    return tuple(
        None
        if column[0] is None
        else np.concatenate([keras.ops.convert_to_numpy(part) for part in column])
        for column in zip(*parts)
    )


def encode_means(model, images, labels=None):
    """Posterior means `z_mean` of `images` as numpy (`labels` if conditional)."""
    return encode_batches(model, images, labels)[0]


def pca(points, components=2):
    """Projects `points` `(N, D)` on their first principal components.

    Returns:
        `(projection (N, components), explained variance ratios (components,))`.
    """
    centered = points - points.mean(axis=0)
    _, singular_values, vt = np.linalg.svd(centered, full_matrices=False)
    variance = singular_values**2
    return centered @ vt[:components].T, variance[:components] / variance.sum()


def slerp(a, b, t):
    """Spherical interpolation between the rows of `a` and `b` at fractions `t`.

    Follows the great circle between the two codes (White, 2016), which keeps
    intermediate codes at a typical distance from the origin under a Gaussian
    prior; falls back to linear interpolation for (anti)parallel codes.

    Returns:
        `(len(a), len(t), D)` codes.
    """
    a, b, t = np.asarray(a, "float64"), np.asarray(b, "float64"), np.asarray(t, "float64")
    cosine = np.sum(a * b, axis=-1) / (
        np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-12
    )
    omega = np.arccos(np.clip(cosine, -1.0, 1.0))[:, None, None]
    t = t[None, :, None]
    sin_omega = np.sin(omega)
    parallel = np.abs(sin_omega) < 1e-6
    safe = np.where(parallel, 1.0, sin_omega)
    spherical = (np.sin((1 - t) * omega) * a[:, None] + np.sin(t * omega) * b[:, None]) / safe
    linear = (1 - t) * a[:, None] + t * b[:, None]
    return np.where(parallel, linear, spherical)


def lerp(a, b, t):
    """Linear interpolation between the rows of `a` and `b`: `(len(a), len(t), D)`."""
    a, b, t = np.asarray(a, "float64"), np.asarray(b, "float64"), np.asarray(t, "float64")
    return (1 - t[None, :, None]) * a[:, None] + t[None, :, None] * b[:, None]


def prior_codes(model, num_samples, seed=0, labels=None):
    """`(num_samples, *code_shape)` codes drawn from `model.prior`, as numpy; seeded, stateless.

    `labels`: the classes of a conditional prior's codes (a VQ-VAE's,
    `model.conditional_prior`); the others ignore them.
    """
    if not model.conditional_prior:
        labels = None
    return keras.ops.convert_to_numpy(model.prior_codes(num_samples, seed, labels))


def prior_log_prob(model, codes):
    """`log p(z)` of `codes` `(N, *code_shape)` under `model.prior`, as numpy (nats)."""
    return keras.ops.convert_to_numpy(model.prior.log_prob(np.asarray(codes, "float32")))


def dimension_usage(model, images, labels=None):
    """How much the encoder uses each latent dimension over `images`.

    The mean KL term of each dimension (the model's, against its prior; named "KL"):
    dimensions the encoder ignores carry none. Under a prior whose KL does not
    split by dimension (a mixture, the VampPrior), the variance of the
    posterior means over the images (named "var of mean", the statistic of
    active units). A flow posterior's KL does not split by dimension either,
    and its code (the flow's image of the Gaussian's mean) is no mean: the
    variance of the codes over the images (named "var of code"). For an
    `Autoencoder`, the spread of the codes (named "sd").

    Returns:
        `(usage (*code_shape,), its name, the codes shown (N, *code_shape))`.
    """
    z_mean, z_log_var = encode_batches(model, images, labels)
    if z_log_var is None:
        if model.kl_estimate is None:  # a code without a density: an Autoencoder's
            return z_mean.std(axis=0), "sd", z_mean
        return z_mean.var(axis=0), "var of code", z_mean
    kl = model.prior.kl(DiagonalGaussian(z_mean, z_log_var))
    if kl is None:
        return z_mean.var(axis=0), "var of mean", z_mean
    usage = keras.ops.convert_to_numpy(kl).mean(axis=0)
    return usage, "KL", z_mean
