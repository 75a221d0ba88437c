"""Per-example negative log-likelihoods and KL divergences, in nats.

Every function returns one value per example, shape `(batch,)`: terms are
summed over pixels, channels and latent dimensions. Averaging over the batch
(or dividing by the global batch size under a distribution strategy) is the
caller's job. Inputs are computed in float32 whatever the layer dtypes.

Example:

```python
recon = bernoulli_nll(images, decoder(z))           # (batch,)
kl = gaussian_kl(z_mean, z_log_var)                 # (batch,)
negative_elbo = keras.ops.mean(recon + kl)
```
"""

import contextlib
import contextvars
import math

import tensorflow as tf
from keras import ops

# Probabilities are clipped to [EPSILON, 1 - EPSILON] before taking logs, as
# keras.losses.binary_crossentropy does.
EPSILON = 1e-7


def sum_per_example(values):
    """Sums `values` over every axis but the first (the batch axis)."""
    values = ops.convert_to_tensor(values)
    return ops.sum(values, axis=tuple(range(1, len(values.shape))))


def bernoulli_nll(x, logits):
    """`-log p(x | logits)` of a per-pixel Bernoulli, from decoder logits.

    The stable sigmoid cross-entropy `softplus(l) - l * x` (softplus, one
    kernel, is `max(l, 0) + log(1 + exp(-|l|))` to float32 precision), exact
    for any `x` in [0, 1] (grey pixels included: then it is the
    cross-entropy the keras.io example optimizes). Three operations and
    their gradients, where `tf.nn.sigmoid_cross_entropy_with_logits` takes
    eight: a tenth of the step of the mlp with IWAE's 5 codes per image.

    Args:
        x: Targets in [0, 1], shape `(batch, ...)`.
        logits: Decoder logits, same shape as `x`.

    Returns:
        Float32 tensor of shape `(batch,)`, in nats.
    """
    x = ops.cast(x, "float32")
    logits = ops.cast(logits, "float32")
    return sum_per_example(ops.softplus(logits) - logits * x)


def bernoulli_nll_from_probabilities(x, probabilities):
    """`-log p(x | p)` of a per-pixel Bernoulli, from probabilities.

    For decoders that end in a sigmoid (as in the keras.io example).
    Probabilities are clipped to `[EPSILON, 1 - EPSILON]`, so prefer decoders
    that output logits: they need no clipping.

    Returns:
        Float32 tensor of shape `(batch,)`, in nats.
    """
    x = ops.cast(x, "float32")
    probabilities = ops.clip(ops.cast(probabilities, "float32"), EPSILON, 1.0 - EPSILON)
    return sum_per_example(-(x * ops.log(probabilities) + (1.0 - x) * ops.log1p(-probabilities)))


def gaussian_nll(x, mean, log_sigma):
    """`-log N(x; mean, sigma^2)` per pixel, summed: a true log-density.

    `sum_i((x_i - mean_i)^2 / (2 sigma^2) + log(sigma) + 0.5 log(2 pi))`,
    constant included, so that the figure is comparable with other densities
    of continuous data (it can be negative: densities exceed 1).

    Args:
        x: Targets, shape `(batch, ...)`.
        mean: Decoder means, same shape as `x`.
        log_sigma: `log(sigma)`, a scalar or broadcastable to `x`.

    Returns:
        Float32 tensor of shape `(batch,)`, in nats.
    """
    x = ops.cast(x, "float32")
    mean = ops.cast(mean, "float32")
    log_sigma = ops.cast(log_sigma, "float32")
    per_pixel = (
        0.5 * ops.square(x - mean) * ops.exp(-2.0 * log_sigma)
        + log_sigma
        + 0.5 * math.log(2.0 * math.pi)
    )
    return sum_per_example(per_pixel + ops.zeros_like(x))


def squared_error(x, mean):
    """Sum of squared errors per example: the "MSE" objective, NOT a log-likelihood.

    Equals `gaussian_nll` with sigma = 1/sqrt(2) minus a constant, so its
    figures are not nats of any model of the data; use it to compare with
    code that trains on MSE, not to report likelihoods.

    Returns:
        Float32 tensor of shape `(batch,)`.
    """
    x = ops.cast(x, "float32")
    mean = ops.cast(mean, "float32")
    return sum_per_example(ops.square(x - mean))


def gaussian_kl_per_dimension(z_mean, z_log_var):
    """`KL(N(m_j, exp(lv_j)) || N(0, 1))` of each latent dimension.

    `0.5 * (exp(lv_j) + m_j^2 - 1 - lv_j)`; used by free bits.

    Returns:
        Float32 tensor of shape `(batch, latent_dim)`, in nats.
    """
    z_mean = ops.cast(z_mean, "float32")
    z_log_var = ops.cast(z_log_var, "float32")
    return 0.5 * (ops.exp(z_log_var) + ops.square(z_mean) - 1.0 - z_log_var)


def gaussian_kl(z_mean, z_log_var):
    """`KL(N(z_mean, exp(z_log_var)) || N(0, I))`, summed over latent dims.

    `0.5 * sum_j(exp(lv_j) + m_j^2 - 1 - lv_j)`, over every axis of the code
    but the batch's: `(batch, d)` or `(batch, h, w, c)`.

    Returns:
        Float32 tensor of shape `(batch,)`, in nats.
    """
    per_dimension = gaussian_kl_per_dimension(z_mean, z_log_var)
    return ops.sum(per_dimension, axis=tuple(range(1, len(per_dimension.shape))))


def _code_axes(code_rank):
    return tuple(range(-code_rank, 0))


def standard_normal_log_density(z, code_rank=1):
    """`log N(z; 0, I)`, summed over the code's last `code_rank` axes (3 for `(h, w, c)` codes)."""
    z = ops.cast(z, "float32")
    return -0.5 * ops.sum(ops.square(z) + math.log(2.0 * math.pi), axis=_code_axes(code_rank))


def diagonal_normal_log_density(epsilon, z_log_var, code_rank=1):
    """`log N(z; m, exp(lv))` of `z = m + exp(lv / 2) * epsilon`, summed over the code's axes.

    Written in terms of the standardized noise `epsilon`, which is exact and
    avoids dividing by a tiny variance. The code is its last `code_rank`
    axes (3 for `(h, w, c)` codes).
    """
    epsilon = ops.cast(epsilon, "float32")
    z_log_var = ops.cast(z_log_var, "float32")
    return -0.5 * ops.sum(
        ops.square(epsilon) + z_log_var + math.log(2.0 * math.pi), axis=_code_axes(code_rank)
    )


def diagonal_mixture_log_density(z, means, log_vars, log_weights):
    """`log sum_k pi_k N(z; mu_k, diag(exp(lv_k)))`, the density of a Gaussian mixture.

    Args:
        z: Codes `(..., latent_dim)`.
        means, log_vars: The components, `(components, latent_dim)` each.
        log_weights: `log pi_k`, `(components,)`, normalized (logsumexp 0).

    Returns:
        Float32 tensor of shape `z.shape[:-1]`, in nats. The quadratic forms
        `sum_j (z_j - mu_kj)^2 / s_kj^2` of all codes and components are
        expanded into one matrix product (`_quadratic_forms`): ten times
        faster than broadcasting codes against components (which spent
        0.24 s of every step of a VampPrior of 500 components under K=5
        codes per image). Its value is computed in float64, except inside a
        training step (`in_training_step`), which takes float32 throughout:
        13% faster on the mlp's VampPrior step, and its errors (0.008 nats
        of log p(z) and 2% of a tight component's log-variance gradient,
        with variances near e^-9 around means near 3; tested) are rounding
        noise, far below the noise of the step's sampled gradient. What the
        library reports (validation, evaluation, figures) takes the float64
        path.
    """
    shape = ops.shape(z)
    latent_dim = z.shape[-1]
    codes = ops.reshape(ops.cast(z, "float32"), (-1, latent_dim))
    means = ops.cast(means, "float32")
    log_vars = ops.cast(log_vars, "float32")
    precisions = ops.exp(-log_vars)
    if _TRAINING_STEP.get():
        features, coefficients, offsets = _expanded(codes, means, precisions)
        quadratic = ops.matmul(features, ops.transpose(coefficients)) + offsets
    else:
        quadratic = _quadratic_forms(codes, means, precisions)  # float64
    dtype = quadratic.dtype
    per_component = -0.5 * (
        quadratic
        + ops.cast(ops.sum(log_vars, axis=-1), dtype)
        + latent_dim * math.log(2.0 * math.pi)
    )
    density = ops.logsumexp(per_component + ops.cast(log_weights, dtype), axis=-1)
    return ops.reshape(ops.cast(density, "float32"), shape[:-1])


# True while a training step is built or run (`in_training_step`).
_TRAINING_STEP = contextvars.ContextVar("training_step", default=False)


@contextlib.contextmanager
def in_training_step():
    """The context of a training step: the computations of its loss may trade float64 for speed.

    The one training step (`vae_tf.models.step.OneStep`) computes its terms
    in it (its trace, or each eager call); only `diagonal_mixture_log_density`
    reads it.
    """
    token = _TRAINING_STEP.set(True)
    try:
        yield
    finally:
        _TRAINING_STEP.reset(token)


def _expanded(codes, means, precisions):
    """`[z^2, z]`, `[p, -2 mu p]` and `sum_j mu_kj^2 p_kj`: the expanded quadratic forms' parts."""
    features = ops.concatenate([ops.square(codes), codes], axis=-1)
    coefficients = ops.concatenate([precisions, -2.0 * means * precisions], axis=-1)
    offsets = ops.sum(ops.square(means) * precisions, axis=-1)
    return features, coefficients, offsets


@tf.custom_gradient
def _quadratic_forms(codes, means, precisions):
    """`sum_j (z_ij - mu_kj)^2 p_kj` of every code i and component k, `(codes, components)`, float64.

    Expanded, `[z^2, z] . [p, -2 mu p] + sum_j mu_kj^2 p_kj`: one matrix
    product, in float64, because the expanded terms grow large for tiny
    posterior variances (p up to e^8 and more) and their difference, the
    small quadratic form of a close component, would lose digits in
    float32. So does the product of the backward pass that gives the
    components' gradients (`sum_i u_ik (z_ij - mu_kj)^2` for p, which
    cancels down to about 1/p of its terms). The codes' gradient,
    `2 sum_k u_ik p_kj (z_ij - mu_kj)`, loses only about 1e-7 of
    `|z| sqrt(p)` in float32, far below the noise of a sampled gradient: its
    product runs in float32, four times faster here (the float64 products
    of the backward pass were a tenth of a VampPrior step).
    """
    wide_codes, wide_means, wide_precisions = (
        tf.cast(value, "float64") for value in (codes, means, precisions)
    )
    features, coefficients, offsets = _expanded(wide_codes, wide_means, wide_precisions)
    value = tf.matmul(features, coefficients, transpose_b=True) + offsets

    def gradient(upstream):
        latent_dim = codes.shape[-1]
        # The codes: d value / d [z^2, z], in float32.
        by_feature = tf.matmul(tf.cast(upstream, "float32"), tf.cast(coefficients, "float32"))
        squares, linear = by_feature[:, :latent_dim], by_feature[:, latent_dim:]
        codes_gradient = 2.0 * codes * squares + linear
        # The components: d value / d [p, -2 mu p] and d offsets, in float64.
        by_coefficient = tf.matmul(upstream, features, transpose_a=True)
        by_precision, by_scaled_mean = (
            by_coefficient[:, :latent_dim],
            by_coefficient[:, latent_dim:],
        )
        by_offset = tf.reduce_sum(upstream, axis=0)[:, None]
        means_gradient = wide_precisions * (2.0 * wide_means * by_offset - 2.0 * by_scaled_mean)
        precisions_gradient = (
            by_precision - 2.0 * wide_means * by_scaled_mean + tf.square(wide_means) * by_offset
        )
        return (
            codes_gradient,
            tf.cast(means_gradient, "float32"),
            tf.cast(precisions_gradient, "float32"),
        )

    return value, gradient


# The kernels of the MMD between codes, and the scales of the IMQ kernel:
# Tolstikhin et al.'s code (wae.py, `mmd_penalty`) sums it over these
# multiples of its base C = 2 d sigma^2, for a prior N(0, sigma^2 I).
MMD_KERNELS = ("imq", "rbf")
IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def squared_distances(x, y):
    """`||x_i - y_j||^2` of every pair of rows, `(n, m)`, from codes `(n, ...)` and `(m, ...)`.

    Expanded, `|x|^2 + |y|^2 - 2 x.y` (one matrix product: memory grows with
    n m, not n m d), and floored at 0 against rounding.

    Example: `squared_distances(np.eye(2), np.zeros((3, 2)))` is a 2 x 3 matrix of ones.
    """
    x = ops.reshape(ops.cast(x, "float32"), (ops.shape(x)[0], -1))
    y = ops.reshape(ops.cast(y, "float32"), (ops.shape(y)[0], -1))
    distances = (
        ops.sum(ops.square(x), axis=1)[:, None]
        + ops.sum(ops.square(y), axis=1)[None]
        - 2.0 * ops.matmul(x, ops.transpose(y))
    )
    return ops.maximum(distances, 0.0)


def mmd_kernel(distances, dimension, kernel="imq", prior_variance=1.0):
    """The kernel of the MMD at squared distances, with the bandwidth `C = 2 d sigma^2`.

    - `"imq"`, Tolstikhin et al.'s (2018) inverse multiquadratics:
      `sum_s s C / (s C + ||x - y||^2)` over `IMQ_SCALES`, as their code;
    - `"rbf"`, the Gaussian `exp(-||x - y||^2 / C)` with the same C, as
      pythae's WAE (Tolstikhin et al. choose an RBF's bandwidth by the
      median heuristic; Zhao et al.'s code divides by d^2).

    `dimension` is d, the number of a code's entries; `prior_variance`
    sigma^2, the prior's variance per entry (1 for N(0, I)).

    Example: `mmd_kernel(squared_distances(a, b), dimension=8)`, `(n, m)` values in (0, 7].
    """
    if kernel not in MMD_KERNELS:
        raise ValueError(f"kernel must be one of {MMD_KERNELS}; got {kernel!r}.")
    base = 2.0 * dimension * prior_variance
    if kernel == "rbf":
        return ops.exp(-distances / base)
    return sum(scale * base / (scale * base + distances) for scale in IMQ_SCALES)


def mmd(x, y, kernel="imq", prior_variance=1.0):
    """The unbiased estimate of the squared MMD between samples `x` and `y` (Gretton et al., 2012).

    `1/(n(n-1)) sum_{i != j} k(x_i, x_j) + 1/(m(m-1)) sum_{i != j} k(y_i, y_j)
    - 2/(nm) sum_{i, j} k(x_i, y_j)`, the U-statistic: its expectation is the
    squared MMD itself (0 when both come from one distribution), so it can
    be negative. The kernel is `mmd_kernel`'s; codes of any shape are
    flattened. Each sample needs two rows at least: with one, its pairs'
    sum counts as 0 and the value is no estimate (`vae_tf.models.wae.prior_mmd`
    gives such a batch no penalty).

    Args:
        x, y: Samples `(n, ...)` and `(m, ...)` of the same code shape, such
            as a batch's codes and as many draws from the prior.
        kernel: `"imq"` or `"rbf"`.
        prior_variance: sigma^2 of the bandwidth.

    Returns:
        A float32 scalar.

    Example:

    ```python
    codes = encoder(images)                                  # (batch, d)
    penalty = mmd(codes, keras.random.normal(codes.shape))   # ~0 when q(z) is N(0, I)
    ```
    """
    dimension = math.prod(x.shape[1:])
    if tuple(x.shape[1:]) != tuple(y.shape[1:]):
        raise ValueError(
            f"mmd compares samples of one shape; got rows of {tuple(x.shape[1:])} and "
            f"{tuple(y.shape[1:])}."
        )

    def within(sample):
        count = ops.cast(ops.shape(sample)[0], "float32")
        gram = mmd_kernel(squared_distances(sample, sample), dimension, kernel, prior_variance)
        # The pairs i != j: the diagonal's own values are removed, whatever rounding made them.
        pairs = ops.sum(gram) - ops.sum(ops.diagonal(gram))
        return pairs / ops.maximum(count * (count - 1.0), 1.0)

    cross = mmd_kernel(squared_distances(x, y), dimension, kernel, prior_variance)
    return within(x) + within(y) - 2.0 * ops.mean(cross)
