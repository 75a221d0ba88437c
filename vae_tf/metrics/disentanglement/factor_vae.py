"""How well a code separates known factors of variation: the FactorVAE score.

FactorVAE score (Kim & Mnih, 2018, "Disentangling by Factorising", section
4): divide each code dimension by its standard deviation over the data, and
leave out the dimensions that barely move (collapsed to the prior). Then,
for each vote, pick a factor k uniformly, take a batch of examples sharing
the value of v_k while the other factors vary, and find the dimension whose
normalized variance within the batch is the smallest: the vote is
(that dimension, k). A majority-vote classifier maps each dimension to the
factor it was most often the vote of, over `num_train` votes; the score is
its accuracy on `num_eval` fresh votes. 1 when each factor has a dimension
of its own that stays still when (and only when) it is fixed; about 1/K (K
factors) for a code that knows nothing of the factors.

Settings follow disentanglement_lib (Locatello et al., 2019): batches of
64, 10,000 training and 5,000 evaluation votes, the standard deviations from
10,000 examples, and a dimension pruned when its standard deviation is below
0.05 (`prune_dims.threshold = 0.05`, compared with the square root of the
variance). The batches come from the data (`interventions.factor_batches`)
rather than a simulator. Unlike disentanglement_lib, a vote names the real
dimension when some are pruned (there the index among the active
dimensions was used as a dimension index), `active_dimensions` counts the
active ones, and a dimension without training votes predicts no factor (its
evaluation votes count as errors) instead of factor 0.

Example:

```python
codes = vae_tf.latent.encode_means(vae, x_test)
result = factor_vae_score(codes, factors)            # factors (N, K) integer indices
result["factor_vae_score"], result["active_dimensions"], result["votes"]   # votes (D, K)
```
"""

import numpy as np

from vae_tf.metrics.disentanglement.inputs import at_least_two_varying
from vae_tf.metrics.disentanglement.inputs import check_codes_and_factors
from vae_tf.metrics.disentanglement.inputs import check_sizes
from vae_tf.metrics.disentanglement.interventions import draw_factors
from vae_tf.metrics.disentanglement.interventions import factor_batches

# A dimension whose standard deviation over the data is below this is left out.
PRUNE_THRESHOLD = 0.05
# Floats of one gathered chunk of batches (about 32 MB).
_CHUNK_FLOATS = 4_000_000


def factor_vae_score(
    codes,
    factors,
    seed=0,
    batch_size=64,
    num_train=10000,
    num_eval=5000,
    num_variance_estimate=10000,
):
    """The FactorVAE score of `codes` `(N, D)` against integer `factors` `(N, K)`.

    See the module's docstring for the definition.

    Args:
        codes: Posterior means (or any continuous code), one row per example.
        factors: The examples' factor indices. Factors with a single value are
            left out (their column of `votes` stays 0).
        seed: Seed of every draw (`numpy.random.default_rng(seed)`): the same
            seed gives the same result.
        batch_size: Examples per vote (>= 2).
        num_train: Votes the majority-vote classifier is built from.
        num_eval: Fresh votes it is scored on.
        num_variance_estimate: Examples (without replacement, at most N)
            giving each dimension's standard deviation.

    Returns:
        A dict: `factor_vae_score` (evaluation accuracy), `train_accuracy`,
        `active_dimensions` (dimensions kept), `votes` (D, K) int64 (the
        training votes: how often each dimension was the stillest when each
        factor was fixed), `note` (None, or why the score is 0).

    Raises:
        ValueError: for mismatched shapes, non-integer factors, NaN codes,
        fewer than two varying factors, or bad sizes.
    """
    codes, factors = check_codes_and_factors(codes, factors)
    check_sizes(
        batch_size=(batch_size, 2),
        num_train=(num_train, 1),
        num_eval=(num_eval, 1),
        num_variance_estimate=(num_variance_estimate, 2),
    )
    candidates = at_least_two_varying(
        factors, "with one candidate, every vote names it and the score says nothing"
    )
    rng = np.random.default_rng(seed)
    num_dims, num_factors = codes.shape[1], factors.shape[1]
    if num_variance_estimate < len(codes):
        sample = codes[rng.choice(len(codes), num_variance_estimate, replace=False)]
    else:
        sample = codes
    scale = np.std(sample, axis=0, ddof=1)
    active = np.flatnonzero(scale >= PRUNE_THRESHOLD)
    if active.size == 0:
        return {
            "factor_vae_score": 0.0,
            "train_accuracy": 0.0,
            "active_dimensions": 0,
            "votes": np.zeros((num_dims, num_factors), "int64"),
            "note": (
                f"Every code dimension has a standard deviation below {PRUNE_THRESHOLD} (the "
                "code collapsed to the prior): the score is 0."
            ),
        }
    normalized = codes[:, active] / scale[active]

    def vote(count):
        votes = np.zeros((num_dims, num_factors), "int64")
        chosen = draw_factors(candidates, count, rng)
        chunk = max(1, _CHUNK_FLOATS // (batch_size * active.size))
        for k in candidates:
            batches = factor_batches(factors, k, batch_size, int(np.sum(chosen == k)), rng)
            for start in range(0, len(batches), chunk):
                local = normalized[batches[start : start + chunk]].var(axis=1, ddof=1)
                stillest = active[np.argmin(local, axis=1)]
                votes[:, k] += np.bincount(stillest, minlength=num_dims)
        return votes

    train_votes = vote(num_train)
    # Each dimension's factor: the one it was most often the vote of (-1: never a vote).
    classifier = np.where(train_votes.sum(axis=1) > 0, train_votes.argmax(axis=1), -1)

    def accuracy(votes):
        seen = np.flatnonzero(classifier >= 0)
        return float(votes[seen, classifier[seen]].sum() / votes.sum())

    eval_votes = vote(num_eval)
    return {
        "factor_vae_score": accuracy(eval_votes),
        "train_accuracy": accuracy(train_votes),
        "active_dimensions": int(active.size),
        "votes": train_votes,
        "note": None,
    }
