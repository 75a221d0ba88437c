"""Fixing one factor and varying the rest, on a finite dataset of codes and factors.

The FactorVAE score (Kim & Mnih, 2018) and the beta-VAE score (Higgins et
al., 2017) both ask: when one factor v_k is held fixed while the others
vary, what changes in the code? disentanglement_lib (Locatello et al., 2019)
answers with a simulator that renders images from chosen factors. Here the
images are already encoded: `codes` `(N, D)` with their integer `factors`
`(N, K)`, so an intervention is a draw from the data. A batch "with v_k
fixed" is a value of factor k drawn uniformly among the values present, then
examples having that value drawn with replacement. When the factors are
independent (as in `vae_tf.data.shapes`, and dSprites), the examples with
v_k = value are a sample of the other factors given it, which is what the
simulator would give.

A factor that never varies (one value) cannot be fixed in any meaningful
way: `inputs.varying_factors` leaves it out, and raises when nothing varies.

Example:

```python
rng = np.random.default_rng(0)
codes, factors = check_codes_and_factors(codes, factors)  # inputs.py
batches = factor_batches(factors, factor=2, batch_size=64, count=100, rng=rng)  # (100, 64)
codes[batches]                                        # (100, 64, D): v_2 fixed in each batch
first, second = factor_pairs(factors, 2, batch_size=64, count=100, rng=rng)
```
"""

import numpy as np


def factor_batches(factors, factor, batch_size, count, rng):
    """`count` batches of `batch_size` example indices sharing the value of one factor.

    For each batch, a value of factor `factor` is drawn uniformly among the
    values present in `factors[:, factor]`, then `batch_size` examples having
    that value are drawn with replacement.

    Args:
        factors: Integer factor indices `(N, K)`.
        factor: The column k to fix.
        batch_size: Examples per batch (>= 1).
        count: Number of batches (>= 0).
        rng: A `numpy.random.Generator`.

    Returns:
        int64 indices into the rows of `factors`, shape `(count, batch_size)`.

    Raises:
        ValueError: for a factor out of range or with a single value, or bad sizes.
    """
    factors = np.asarray(factors)
    if not 0 <= factor < factors.shape[1]:
        raise ValueError(f"factor must be in [0, {factors.shape[1]}); got {factor}.")
    if batch_size < 1 or count < 0:
        raise ValueError(f"Need batch_size >= 1 and count >= 0; got {batch_size} and {count}.")
    column = factors[:, factor]
    order = np.argsort(column, kind="stable")
    _, starts, sizes = np.unique(column[order], return_index=True, return_counts=True)
    if sizes.size < 2:
        raise ValueError(
            f"Factor {factor} never varies (one value): fixing it fixes nothing. Leave it out "
            "(see varying_factors)."
        )
    chosen = rng.integers(sizes.size, size=count)
    offsets = rng.integers(0, sizes[chosen][:, np.newaxis], size=(count, batch_size))
    return order[starts[chosen][:, np.newaxis] + offsets]


def factor_pairs(factors, factor, batch_size, count, rng):
    """`count` batches of `batch_size` pairs of examples, the two of each pair sharing v_k.

    As in Higgins et al. (2017): each pair has a value of factor `factor` of
    its own (drawn as in `factor_batches`), and two independent draws from
    the examples having it; the other factors vary freely.

    Returns:
        `(first, second)`, int64 indices `(count, batch_size)` each.
    """
    pairs = factor_batches(factors, factor, 2, count * batch_size, rng)
    pairs = pairs.reshape(count, batch_size, 2)
    return pairs[..., 0], pairs[..., 1]


def draw_factors(candidates, count, rng):
    """`count` factor indices drawn uniformly from `candidates` (e.g. `varying_factors(...)`)."""
    return np.asarray(candidates)[rng.integers(len(candidates), size=count)]
