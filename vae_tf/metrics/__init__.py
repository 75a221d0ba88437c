"""Measures of trained models (one subject a module).

- `likelihood`: the test negative ELBO and the importance-weighted NLL in
  nats (`evaluate_likelihood`, `log_importance_weights`), the active units,
  the per-layer report of two stochastic layers, and the reconstruction
  error of a model without a density (`reconstruction_error`).
- `sample_quality`: the Fréchet distance of feature sets, and the precision
  and recall of a generative model (k-NN manifolds).
- `judge`: the classifier of a dataset whose features they are computed in,
  trained once and cached.
- `generation`: a model's samples seen by the judge (FID, precision, recall,
  conditional accuracy).
- `codebook`: a VQ-VAE's codebook use (perplexity, usage) and the bits per
  dimension of its two-stage code (`codebook_report`).
- `disentanglement`: how well codes separate known factors, one module a
  metric: the mutual information gap, the FactorVAE and beta-VAE scores,
  DCI and SAP (`disentanglement_metrics` runs them all).

Example:

```python
from vae_tf.metrics import frechet_distance, precision_recall
from vae_tf.metrics import load_judge, sample_quality, mutual_information_gap
from vae_tf.metrics import factor_vae_score, beta_vae_score, dci, sap, disentanglement_metrics
from vae_tf.metrics import evaluate_likelihood, active_units
```

A run directory's evaluation is `vae_tf.runs.evaluate` (`evaluate_run`,
`sample_quality_run`, `disentanglement_run`).
"""

from vae_tf.metrics.codebook import code_counts
from vae_tf.metrics.codebook import codebook_perplexity
from vae_tf.metrics.codebook import codebook_report
from vae_tf.metrics.codebook import codebook_usage
from vae_tf.metrics.disentanglement import beta_vae_score
from vae_tf.metrics.disentanglement import dci
from vae_tf.metrics.disentanglement import disentanglement_metrics
from vae_tf.metrics.disentanglement import factor_vae_score
from vae_tf.metrics.disentanglement import mutual_information_gap
from vae_tf.metrics.disentanglement import sap
from vae_tf.metrics.generation import conditional_accuracy
from vae_tf.metrics.generation import sample_quality
from vae_tf.metrics.judge import Judge
from vae_tf.metrics.judge import NoJudgeError
from vae_tf.metrics.judge import load_judge
from vae_tf.metrics.likelihood import active_units
from vae_tf.metrics.likelihood import evaluate_likelihood
from vae_tf.metrics.likelihood import layer_report
from vae_tf.metrics.likelihood import log_importance_weights
from vae_tf.metrics.likelihood import reconstruction_error
from vae_tf.metrics.sample_quality import frechet_distance
from vae_tf.metrics.sample_quality import gaussian_frechet_distance
from vae_tf.metrics.sample_quality import precision_recall

__all__ = [
    "Judge",
    "NoJudgeError",
    "active_units",
    "beta_vae_score",
    "code_counts",
    "codebook_perplexity",
    "codebook_report",
    "codebook_usage",
    "conditional_accuracy",
    "dci",
    "disentanglement_metrics",
    "evaluate_likelihood",
    "factor_vae_score",
    "frechet_distance",
    "gaussian_frechet_distance",
    "layer_report",
    "load_judge",
    "log_importance_weights",
    "mutual_information_gap",
    "precision_recall",
    "reconstruction_error",
    "sample_quality",
    "sap",
]
