"""Disentanglement: how well a code separates known factors of variation, one module a metric.

Each metric takes codes `(N, D)` (posterior means, or any continuous code)
and the same images' integer factor indices `(N, K)`, as disentanglement_lib
does (Locatello et al., 2019), so they serve a user's own codes and factors
as well as a run's (`vae_tf.runs.disentanglement_run`):

- `mig.mutual_information_gap` (Chen et al., 2018): `mig`;
- `factor_vae.factor_vae_score` (Kim & Mnih, 2018): `factor_vae_score`;
- `beta_vae.beta_vae_score` (Higgins et al., 2017): `beta_vae_score`;
- `dci.dci` (Eastwood & Williams, 2018): `dci_disentanglement`,
  `dci_completeness`, `dci_informativeness`;
- `sap.sap` (Kumar et al., 2018): `sap`.

The two scores that fix a factor and vary the others draw their batches
from the examples that share the factor's value (`interventions`); every
metric checks its inputs alike (`inputs`).
`disentanglement_metrics` runs them all and times each.

Example:

```python
codes = vae_tf.latent.encode_means(vae, x_test)
vae_tf.metrics.mutual_information_gap(codes, factors)["mig"]
scores = vae_tf.metrics.disentanglement_metrics(codes, factors, seed=0)
scores["factor_vae_score"], scores["seconds"]["dci"]
```
"""

import time

from vae_tf.metrics.disentanglement.beta_vae import beta_vae_score
from vae_tf.metrics.disentanglement.dci import dci
from vae_tf.metrics.disentanglement.factor_vae import factor_vae_score
from vae_tf.metrics.disentanglement.mig import BINS
from vae_tf.metrics.disentanglement.mig import discretize
from vae_tf.metrics.disentanglement.mig import entropy
from vae_tf.metrics.disentanglement.mig import mutual_information
from vae_tf.metrics.disentanglement.mig import mutual_information_gap
from vae_tf.metrics.disentanglement.sap import sap

#: The keys of `disentanglement_metrics` (and of scripts/evaluate.py's JSON).
METRIC_KEYS = (
    "mig",
    "factor_vae_score",
    "beta_vae_score",
    "dci_disentanglement",
    "dci_completeness",
    "dci_informativeness",
    "sap",
)


def disentanglement_metrics(codes, factors, seed=0, factor_names=None, log=None):
    """Every metric of the package on the same codes and factors, each timed.

    Args:
        codes: `(N, D)` codes (posterior means).
        factors: `(N, K)` integer factor indices of the same images.
        seed: Seed of every metric's draws and classifiers: the same seed,
            the same numbers.
        factor_names: Names of the K factors (MIG's per-factor gaps).
        log: Called with a line as each metric finishes (its value and
            seconds), e.g. `print`; None for silence.

    Returns:
        A dict with `METRIC_KEYS` (floats), `mig_per_factor` and
        `mig_best_dimensions` (`{factor name: value}`), and `seconds`
        (`{metric: seconds}`: `mig`, `factor_vae_score`, `beta_vae_score`,
        `dci`, `sap`).
    """
    metrics = (
        ("mig", lambda: mutual_information_gap(codes, factors, factor_names=factor_names)),
        ("factor_vae_score", lambda: factor_vae_score(codes, factors, seed=seed)),
        ("beta_vae_score", lambda: beta_vae_score(codes, factors, seed=seed)),
        ("dci", lambda: dci(codes, factors, seed=seed)),
        ("sap", lambda: sap(codes, factors, seed=seed)),
    )
    result, seconds = {}, {}
    for name, compute in metrics:
        start = time.perf_counter()
        values = compute()
        seconds[name] = time.perf_counter() - start
        found = {key: float(values[key]) for key in METRIC_KEYS if key in values}
        if name == "mig":
            names = values["factor_names"]
            found["mig_per_factor"] = dict(zip(names, map(float, values["gaps"])))
            found["mig_best_dimensions"] = dict(zip(names, map(int, values["best_dimensions"])))
        result.update(found)
        if log is not None:
            shown = ", ".join(f"{key} {found[key]:.3f}" for key in METRIC_KEYS if key in found)
            log(f"{shown} ({seconds[name]:.1f} s)")
    return {**result, "seconds": seconds}


__all__ = [
    "BINS",
    "METRIC_KEYS",
    "beta_vae_score",
    "dci",
    "discretize",
    "disentanglement_metrics",
    "entropy",
    "factor_vae_score",
    "mutual_information",
    "mutual_information_gap",
    "sap",
]
