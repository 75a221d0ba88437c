"""How well a code separates known factors of variation: the SAP score.

SAP, the Separated Attribute Predictability score (Kumar et al., 2018,
"Variational Inference of Disentangled Latent Concepts from Unlabeled
Observations", section 3), for discrete factors as disentanglement_lib
computes it (Locatello et al., 2019, evaluation/metrics/sap_score.py): the
examples are split (seeded) into train and test sets; for each code
dimension j and factor v_k, a linear classifier on that one dimension alone
(sklearn's `LinearSVC(C=0.01, class_weight="balanced")`, one-vs-rest, on the
raw code, as there) is fitted on the train set, and its test accuracy (plain,
as there: the classes are weighed evenly in training only) is the score S_jk
`(D, K)`. SAP = the mean over factors of the gap between the best
and the second best dimension's score. High when each factor is predictable
from one dimension and from no other; 0 when no dimension predicts a factor
better than another (a code that knows nothing: every score near chance).

A linear classifier on one number can only tell apart values at the ends of
the dimension's range: on a code that copies a 32-valued factor exactly, its
accuracy is a few values in 32, so SAP is far below 1 even for a perfect
code (an exact copy of the `vae_tf.data.shapes` factors scored about 0.18).
The strong regularization (C=0.01) also makes the scores depend on the
code's scale, as in disentanglement_lib: compare codes of similar scale.
The 50 classifiers of 10,000 examples with D=10 and the shapes factors took
0.5 s on this 2-core CPU.

A factor that never varies is left out: its column of scores is NaN.

Example:

```python
codes = vae_tf.latent.encode_means(vae, x_test)
result = sap(codes, factors, seed=0)         # factors (N, K) integer indices
result["sap"], result["scores"]              # scores (latent_dim, K)
```
"""

import numpy as np
from sklearn.svm import LinearSVC

from vae_tf.metrics.disentanglement.dci import prepare


def sap(codes, factors, seed=0, train_fraction=0.8):
    """The SAP score of `codes` `(N, D)` against integer `factors` `(N, K)`.

    See the module's docstring for the definition.

    Args:
        codes: Posterior means (or any continuous code), one row per example.
        factors: The examples' integer factor indices.
        seed: Seed of the train/test split (and of the classifiers): the same
            seed, the same numbers.
        train_fraction: Share of the examples the classifiers are fitted on;
            the rest scores them.

    Returns:
        A dict: `sap` (float), `scores` `(D, K)` (test accuracy of each
        dimension's classifier for each factor; NaN columns for factors that
        never vary, left out of the mean).

    Raises:
        ValueError: for mismatched shapes, non-integer factors, NaN or
            infinite codes, D < 2, a bad `train_fraction`, or no varying factor.
    """
    codes, ranks, varying, train, test = prepare(codes, factors, seed, train_fraction)
    if codes.shape[1] < 2:
        raise ValueError(
            f"SAP compares the best two code dimensions: it needs at least two; got "
            f"{codes.shape[1]}."
        )
    scores = np.full((codes.shape[1], ranks.shape[1]), np.nan)
    for j in range(codes.shape[1]):
        x_train, x_test = codes[train, j : j + 1], codes[test, j : j + 1]
        for k in varying:
            classifier = LinearSVC(C=0.01, class_weight="balanced", random_state=seed)
            classifier.fit(x_train, ranks[train, k])
            scores[j, k] = np.mean(classifier.predict(x_test) == ranks[test, k])
    ordered = np.sort(scores[:, varying], axis=0)
    return {"sap": float(np.mean(ordered[-1] - ordered[-2])), "scores": scores}
