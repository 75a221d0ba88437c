"""The checks every disentanglement metric makes of its codes, factors and sizes.

Example:

```python
codes, factors = check_codes_and_factors(codes, factors)   # float64 (N, D), int64 (N, K)
candidates = varying_factors(factors)                      # the factors that take two values
check_sizes(batch_size=(64, 2), num_train=(10000, 1))
```
"""

import numpy as np


def check_codes_and_factors(codes, factors):
    """`(codes float64 (N, D), factors int64 (N, K))`, or a ValueError naming the problem.

    Args:
        codes: Posterior means (or any continuous code), one row per example.
        factors: The same examples' integer factor indices.
    """
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] < 1:
        raise ValueError(
            f"codes must have shape (N, latent_dim) with latent_dim >= 1; got {codes.shape}. "
            "Pass one row per example (reshape a single code dimension to (N, 1))."
        )
    if not (np.issubdtype(codes.dtype, np.number) or codes.dtype == bool):
        raise ValueError(f"codes must be numbers; got dtype {codes.dtype}.")
    codes = codes.astype("float64")
    bad = ~np.isfinite(codes).all(axis=1)
    if bad.any():
        raise ValueError(
            f"codes hold NaN or infinite values in {int(bad.sum())} of {len(codes)} rows (first: "
            f"row {int(np.argmax(bad))}). Check the encoder's outputs, or drop those rows and "
            "their factors."
        )
    factors = np.asarray(factors)
    if factors.ndim != 2 or len(factors) != len(codes):
        raise ValueError(
            f"factors must have shape (N, num_factors) with the codes' N={len(codes)}; got "
            f"{factors.shape}. Pass one row of factor indices per code."
        )
    if factors.shape[1] < 1:
        raise ValueError("factors have no columns: there is no factor to fix.")
    if not np.issubdtype(factors.dtype, np.integer):
        raise ValueError(
            f"factors must be integer indices (discrete factor values); got dtype "
            f"{factors.dtype}. Cast whole numbers with factors.astype(int); discretize "
            "continuous factors first."
        )
    if len(codes) < 2:
        raise ValueError(f"At least two examples are needed; got {len(codes)}.")
    return codes, factors.astype("int64")


def varying_factors(factors):
    """The indices `(K',)` of the columns of `factors` `(N, K)` that take two values or more.

    Raises:
        ValueError: when no factor varies (nothing can be fixed against the rest).
    """
    factors = np.asarray(factors)
    varying = np.array(
        [k for k in range(factors.shape[1]) if np.unique(factors[:, k]).size > 1], "int64"
    )
    if varying.size == 0:
        raise ValueError(
            "No factor varies across these examples (each has one value): there is nothing to "
            "fix and vary. Pass examples drawn across the factors' values."
        )
    return varying


def at_least_two_varying(factors, why):
    """`varying_factors(factors)`, or a ValueError when only one varies, saying `why` that fails."""
    candidates = varying_factors(factors)
    if candidates.size < 2:
        raise ValueError(
            f"Only factor {int(candidates[0])} varies: {why}. Pass examples where at least two "
            "factors vary."
        )
    return candidates


def check_sizes(**sizes):
    """A ValueError for any `name=value` below its minimum; each value is `(value, minimum)`."""
    for name, (value, minimum) in sizes.items():
        whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        if not whole or value < minimum:
            raise ValueError(f"{name} must be a whole number >= {minimum}; got {value!r}.")
