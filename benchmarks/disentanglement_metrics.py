"""The disentanglement metrics' cost on N codes of the `shapes` factors, each timed.

    python benchmarks/disentanglement_metrics.py              # 10,000 codes of 10 dimensions
    python benchmarks/disentanglement_metrics.py 5000 32      # N, then the code's dimensions

The code copies each of the five factors into a dimension of its own (scaled
to [0, 1], plus noise of sd 0.05) and fills the other dimensions with noise,
the shape of a well disentangled run's code; the metrics' cost depends on N
and the dimensions, hardly on the values. Prints each metric's value and
seconds, then the total (the goal: the full set under two minutes at 10,000).
"""

import sys
import time

import numpy as np

from vae_tf.data import shapes
from vae_tf.metrics import disentanglement_metrics


def synthetic_codes(count, dimensions, seed=0):
    """`(codes (count, dimensions), factors (count, 5))`: the factors copied, then noise."""
    rng = np.random.default_rng(seed)
    factors = shapes.sample_factors(count, seed)
    copied = factors / (np.array(shapes.FACTOR_SIZES) - 1)
    noise = rng.normal(size=(count, max(0, dimensions - copied.shape[1])))
    codes = np.concatenate([copied[:, :dimensions], noise], axis=1)
    return codes + rng.normal(0, 0.05, codes.shape), factors


def main(count=10000, dimensions=10):
    codes, factors = synthetic_codes(count, dimensions)
    print(f"{count} codes of {dimensions} dimensions, {factors.shape[1]} factors:")
    start = time.perf_counter()
    disentanglement_metrics(codes, factors, factor_names=shapes.FACTOR_NAMES, log=print)
    print(f"all seven: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(*(int(argument) for argument in sys.argv[1:3]))
