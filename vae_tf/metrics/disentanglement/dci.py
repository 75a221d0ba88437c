"""How well a code separates known factors of variation: DCI.

DCI, disentanglement, completeness and informativeness (Eastwood &
Williams, 2018, "A Framework for the Quantitative Evaluation of Disentangled
Representations"): the examples are split (seeded) into train and test sets;
for each factor v_k a gradient-boosted tree model predicts v_k from the
whole code, and its feature importances (absolute) form column k of the
importance matrix R `(D, K)`. Then

- disentanglement = sum_j rho_j (1 - H_K(P_j.)), with P_j. = R_j. / sum_k R_jk
  (what dimension j is important for, as a distribution over the K factors),
  H_K the entropy in log base K, and rho_j = sum_k R_jk / sum R (a dimension
  that matters to no factor weighs nothing). 1 when each dimension serves
  one factor; 0 when each serves all alike.
- completeness = sum_k rho_k (1 - H_D(P_.k)), with P_.k = R_.k / sum_j R_jk
  (which dimensions factor k lives in), H_D in log base D and
  rho_k = sum_j R_jk / sum R. 1 when each factor lives in one dimension.
- informativeness = the mean test accuracy of the K models. The paper
  defines it as a prediction error; disentanglement_lib (Locatello et al.,
  2019, evaluation/metrics/dci.py) reports the test accuracy, and so do we
  (higher is better; chance is about 1/values for a uniform factor).

The models: disentanglement_lib fits sklearn's `GradientBoostingClassifier`
(100 stages of depth-3 trees) for every factor. It builds one tree per stage
*per value*: on the 40 orientations of `vae_tf.data.shapes` (8,000 training
examples, D=10, this 2-core CPU) 20 stages took 16 s, so 100 would take
about 80 s for that factor alone. Here a factor with at most
`CLASSIFIER_MAX_VALUES` (6) values keeps that classifier (shape 3.4 s,
scale 8.1 s); a factor with more values is fitted by a
`GradientBoostingRegressor` (the same 100 depth-3 stages, one tree each) on
the rank of its value, its prediction rounded to the nearest rank for the
accuracy: 1.8 s a factor, and on orientation as accurate as the classifier
(0.81, against 0.80 for 20 classifier stages). This treats those factors as
ordered, true of the many-valued factors of dSprites-like data (scale,
orientation, position); the importances are still those of gradient-boosted
trees. All of DCI on 10,000 examples with D=10 and the shapes factors (3, 6,
40, 32, 32 values) took 17 s here (11 s if scale were regressed too); the
cost grows as N log N times D. Trees of depth 3 cannot read a factor packed
finely into one dimension (x + 32 y: x at chance), so informativeness is a
lower bound on what a code holds.

A factor that never varies is left out: its importance column and accuracy
are NaN, and the entropies are over the K' factors that vary.

Example:

```python
codes = vae_tf.latent.encode_means(vae, x_test)
result = dci(codes, factors, seed=0)                # factors (N, K) integer indices
result["dci_disentanglement"], result["dci_completeness"], result["dci_informativeness"]
result["importance"]                                # (latent_dim, K)
```
"""

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.ensemble import GradientBoostingRegressor

from vae_tf.metrics.disentanglement.inputs import check_codes_and_factors
from vae_tf.metrics.disentanglement.inputs import varying_factors

# A factor with at most this many values is predicted by a classifier; more, by a regressor.
CLASSIFIER_MAX_VALUES = 6


def split_examples(count, seed=0, train_fraction=0.8):
    """`(train, test)` int64 indices: a seeded shuffle of `range(count)`, split by `train_fraction`.

    Raises:
        ValueError: when `train_fraction` is outside (0, 1) or leaves either part empty.
    """
    if not 0 < train_fraction < 1:
        raise ValueError(
            f"train_fraction must be between 0 and 1 (exclusive); got {train_fraction}. "
            "0.8 trains on 80% of the examples and tests on the rest."
        )
    train_count = int(round(train_fraction * count))
    if not 0 < train_count < count:
        raise ValueError(
            f"train_fraction={train_fraction} of {count} examples leaves an empty train or test "
            "set; pass more examples or a fraction nearer 0.5."
        )
    order = np.random.default_rng(seed).permutation(count)
    return order[:train_count], order[train_count:]


def prepare(codes, factors, seed=0, train_fraction=0.8):
    """The checked inputs of a train/test metric: `(codes, ranks, varying, train, test)`.

    `ranks` `(N, K)` holds each factor's values as their ranks 0..values-1;
    `varying` the columns that take two values or more; `train` and `test`
    the example indices of `split_examples`.

    Raises:
        ValueError: for bad inputs (see `interventions.check_codes_and_factors`),
            no varying factor, or a varying factor with one value among the
            training examples.
    """
    codes, factors = check_codes_and_factors(codes, factors)
    varying = varying_factors(factors)
    train, test = split_examples(len(codes), seed, train_fraction)
    ranks = np.stack(
        [
            np.unique(factors[:, k], return_inverse=True)[1].reshape(-1)
            for k in range(factors.shape[1])
        ],
        axis=1,
    )
    for k in varying:
        if np.unique(ranks[train, k]).size < 2:
            raise ValueError(
                f"Factor {k} varies, but takes one value among the {len(train)} training "
                "examples: nothing can be learned about it. Pass more examples."
            )
    return codes, ranks, varying, train, test


def _fit_factor(codes, target, values, train, test, seed):
    """Importances `(D,)`, train and test accuracy of the model predicting one factor's ranks."""
    if values <= CLASSIFIER_MAX_VALUES:
        model = GradientBoostingClassifier(random_state=seed).fit(codes[train], target[train])

        def predict(x):
            return model.predict(x)

    else:
        model = GradientBoostingRegressor(random_state=seed).fit(codes[train], target[train])

        def predict(x):
            return np.clip(np.rint(model.predict(x)), 0, values - 1).astype(target.dtype)

    accuracies = [float(np.mean(predict(codes[part]) == target[part])) for part in (train, test)]
    return np.abs(model.feature_importances_), *accuracies


def _normalized_entropy(p):
    """The entropy of each row of `p` `(M, n)` (rows summing to 1) in log base n; 0 when n == 1."""
    if p.shape[1] < 2:
        return np.zeros(len(p))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=1) / np.log(p.shape[1])


def _weighted_score(importance):
    """sum_j rho_j (1 - H(P_j.)) over the rows of a nonnegative `importance` `(D, K)`."""
    weights = importance.sum(axis=1)
    used = weights > 0
    if not used.any():
        return 0.0
    p = importance[used] / weights[used, None]
    rho = weights[used] / weights.sum()
    return float(np.sum(rho * (1.0 - _normalized_entropy(p))))


def disentanglement_score(importance):
    """DCI disentanglement of an importance matrix `(D, K)` (see the module's docstring)."""
    return _weighted_score(np.asarray(importance, "float64"))


def completeness_score(importance):
    """DCI completeness of an importance matrix `(D, K)` (see the module's docstring)."""
    return _weighted_score(np.asarray(importance, "float64").T)


def dci(codes, factors, seed=0, train_fraction=0.8):
    """DCI of `codes` `(N, D)` against integer `factors` `(N, K)` (see the module's docstring).

    Args:
        codes: Posterior means (or any continuous code), one row per example.
        factors: The examples' integer factor indices.
        seed: Seed of the train/test split and of the tree models: the same
            seed, the same numbers.
        train_fraction: Share of the examples the models are fitted on; the
            rest scores them.

    Returns:
        A dict: `dci_disentanglement`, `dci_completeness`,
        `dci_informativeness` (mean test accuracy), `train_accuracy` (mean
        train accuracy), floats; `importance` `(D, K)`; `accuracies` `(K,)`
        (each factor's test accuracy). A factor that never varies has a NaN
        importance column and accuracy and is left out of the scores.

    Raises:
        ValueError: for mismatched shapes, non-integer factors, NaN or
            infinite codes, a bad `train_fraction`, or no varying factor.
    """
    codes, ranks, varying, train, test = prepare(codes, factors, seed, train_fraction)
    importance = np.full((codes.shape[1], ranks.shape[1]), np.nan)
    train_accuracy = np.full(ranks.shape[1], np.nan)
    test_accuracy = np.full(ranks.shape[1], np.nan)
    for k in varying:
        values = int(ranks[:, k].max()) + 1
        importance[:, k], train_accuracy[k], test_accuracy[k] = _fit_factor(
            codes, ranks[:, k], values, train, test, seed
        )
    known = importance[:, varying]
    return {
        "dci_disentanglement": disentanglement_score(known),
        "dci_completeness": completeness_score(known),
        "dci_informativeness": float(np.mean(test_accuracy[varying])),
        "importance": importance,
        "train_accuracy": float(np.mean(train_accuracy[varying])),
        "accuracies": test_accuracy,
    }
