"""How well a code separates known factors of variation: the beta-VAE score.

beta-VAE score (Higgins et al., 2017, "beta-VAE: Learning Basic Visual
Concepts with a Constrained Variational Framework", section 3 and appendix):
each point picks a factor k uniformly and a batch of `batch_size` pairs of
examples, the two of each pair sharing the value of v_k (a value of its own
per pair) while the other factors vary; its feature is the mean over the
pairs of |z1 - z2|, per code dimension. A linear classifier learns to tell
k from the feature on `num_train` points; the score is its accuracy on
`num_eval` fresh points. 1 when fixing each factor stills a direction of the
code of its own; about 1/K (K factors) for a code that knows nothing of
them. A linear classifier can read a factor spread over several dimensions,
so the score is more lenient than the FactorVAE score.

Settings follow disentanglement_lib (Locatello et al., 2019,
`beta_vae_sklearn`): batches of 64 pairs, 10,000 training and 5,000
evaluation points, scikit-learn's LogisticRegression. The pairs come from
the data (`interventions.factor_pairs`) rather than a simulator, and the
features are standardized before the classifier (the same scores for codes
on any scale, and lbfgs converges in far fewer steps).

Example:

```python
codes = vae_tf.latent.encode_means(vae, x_test)
result = beta_vae_score(codes, factors)              # factors (N, K) integer indices
result["beta_vae_score"], result["train_accuracy"]
```
"""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from vae_tf.metrics.disentanglement.inputs import at_least_two_varying
from vae_tf.metrics.disentanglement.inputs import check_codes_and_factors
from vae_tf.metrics.disentanglement.inputs import check_sizes
from vae_tf.metrics.disentanglement.interventions import draw_factors
from vae_tf.metrics.disentanglement.interventions import factor_pairs

# Floats of one gathered chunk of pairs (about 32 MB).
_CHUNK_FLOATS = 4_000_000
# Far more than standardized features need (a few dozen lbfgs steps).
MAX_ITER = 1000


def beta_vae_score(codes, factors, seed=0, batch_size=64, num_train=10000, num_eval=5000):
    """The beta-VAE score of `codes` `(N, D)` against integer `factors` `(N, K)`.

    See the module's docstring for the definition.

    Args:
        codes: Posterior means (or any continuous code), one row per example.
        factors: The examples' factor indices. Factors with a single value are
            left out.
        seed: Seed of every draw (`numpy.random.default_rng(seed)`, and a seed
            derived from it for the classifier): the same seed gives the
            same result.
        batch_size: Pairs per point.
        num_train: Points the classifier is trained on.
        num_eval: Fresh points it is scored on.

    Returns:
        A dict: `beta_vae_score` (evaluation accuracy), `train_accuracy`.

    Raises:
        ValueError: for mismatched shapes, non-integer factors, NaN codes,
        fewer than two varying factors, or bad sizes.
    """
    codes, factors = check_codes_and_factors(codes, factors)
    check_sizes(batch_size=(batch_size, 1), num_train=(num_train, 1), num_eval=(num_eval, 1))
    candidates = at_least_two_varying(
        factors, "a classifier of the fixed factor has a single class"
    )
    rng = np.random.default_rng(seed)
    classifier_seed = int(rng.integers(2**31 - 1))

    def points(count):
        labels = draw_factors(candidates, count, rng)
        features = np.empty((count, codes.shape[1]))
        chunk = max(1, _CHUNK_FLOATS // (2 * batch_size * codes.shape[1]))
        for k in candidates:
            rows = np.flatnonzero(labels == k)
            first, second = factor_pairs(factors, k, batch_size, rows.size, rng)
            for start in range(0, rows.size, chunk):
                part = slice(start, start + chunk)
                difference = np.abs(codes[first[part]] - codes[second[part]])
                features[rows[part]] = difference.mean(axis=1)
        return features, labels

    train_features, train_labels = points(num_train)
    eval_features, eval_labels = points(num_eval)
    if np.unique(train_labels).size < 2:
        raise ValueError(
            f"All {num_train} training points fixed the same factor: raise num_train so the "
            "classifier sees at least two."
        )
    model = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=MAX_ITER, random_state=classifier_seed)
    )
    model.fit(train_features, train_labels)
    return {
        "beta_vae_score": float(model.score(eval_features, eval_labels)),
        "train_accuracy": float(model.score(train_features, train_labels)),
    }
