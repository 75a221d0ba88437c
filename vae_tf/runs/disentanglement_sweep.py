"""Each model over its published settings and over seeds, measured against known factors.

`PUBLISHED_VALUES` holds, per model, the one setting that disentanglement_lib's
study sweeps and its six values (Locatello et al., 2019, "Challenging Common
Assumptions in the Unsupervised Learning of Disentangled Representations").
`run_disentanglement_sweep` trains every model at every value and seed on
data with known factors (`--dataset=shapes`), each point an ordinary run
directory `<output_dir>/<model>/<setting><value>_seed<seed>` measured by
`vae_tf.runs.disentanglement_run` (its results kept in the run's
`disentanglement.json`: a sweep run again reuses its finished points), and
writes `disentanglement_runs.csv` (a row per run), `disentanglement_summary.csv`
(a row per model and value: mean and standard deviation over seeds) and
`disentanglement_sweep.png`.

Example:

```python
base = TrainConfig(dataset="shapes", architecture="dlib64", latent_dim=10, epochs=10)
rows = run_disentanglement_sweep(base, models=["vae", "beta_tcvae"], seeds=(0, 1))
summary = summarize(rows)          # what disentanglement_summary.csv holds
```
"""

import dataclasses
import math
import os

import numpy as np

from vae_tf import data
from vae_tf import plotting
from vae_tf.metrics.disentanglement import METRIC_KEYS
from vae_tf.models.registry import get_variant
from vae_tf.models.registry import specific_settings
from vae_tf.models.registry import takers
from vae_tf.runs.artifacts import HISTORY_FILE
from vae_tf.runs.artifacts import read_config
from vae_tf.runs.artifacts import read_history
from vae_tf.runs.config import TrainConfig
from vae_tf.runs.evaluate import disentanglement_run
from vae_tf.runs.run_data import data_source
from vae_tf.runs.sweeps import measure_points
from vae_tf.runs.sweeps import write_csv
from vae_tf.utils.checks import check_positive_int


@dataclasses.dataclass(frozen=True)
class PublishedSweep:
    """One model of the study: the `TrainConfig` setting swept, its values, what is fixed.

    `fixed` holds settings that make the entry (DIP-VAE-II is `dip_vae` with
    `dip_type="ii"`); the study's other fixed values are the models' own
    defaults (see `PUBLISHED_VALUES`).
    """

    model: str
    setting: str
    values: tuple
    fixed: dict = dataclasses.field(default_factory=dict)


# google-research/disentanglement_lib, disentanglement_lib/config/unsupervised_study_v1/
# sweep.py, get_default_models() (lines 52-107; the same at commits 76f41e3 and
# 86a644d). Values are floats there; the study's other fixed settings are these
# models' defaults: annealed_vae's iteration_threshold 100000 and gamma 1000
# (lines 63, 65; capacity_steps and gamma here), DIP-VAE's lambda_d_factor 10
# for type i and 1 for type ii (lines 83, 93; lambda_d=None here is
# lambda_d_factor * lambda_od). Its shared.gin trains 300,000 steps of batch 64.
PUBLISHED_VALUES = {
    # "beta_vae": vae.beta (line 57).
    "vae": PublishedSweep("vae", "beta", (1.0, 2.0, 4.0, 6.0, 8.0, 16.0)),
    # "annealed_vae": annealed_vae.c_max (line 64).
    "annealed_vae": PublishedSweep(
        "annealed_vae", "capacity_max", (5.0, 10.0, 25.0, 50.0, 75.0, 100.0)
    ),
    # "factor_vae": factor_vae.gamma (lines 74-75).
    "factor_vae": PublishedSweep("factor_vae", "gamma", (10.0, 20.0, 30.0, 40.0, 50.0, 100.0)),
    # "dip_vae_i": dip_vae.lambda_od (lines 81-82), dip_type "i" (line 84).
    "dip_vae": PublishedSweep(
        "dip_vae", "lambda_od", (1.0, 2.0, 5.0, 10.0, 20.0, 50.0), {"dip_type": "i"}
    ),
    # "dip_vae_ii": dip_vae.lambda_od (lines 91-92), dip_type "ii" (line 94).
    "dip_vae_ii": PublishedSweep(
        "dip_vae", "lambda_od", (1.0, 2.0, 5.0, 10.0, 20.0, 50.0), {"dip_type": "ii"}
    ),
    # "beta_tc_vae": beta_tc_vae.beta (line 101), the total correlation's weight.
    "beta_tcvae": PublishedSweep("beta_tcvae", "tc_weight", (1.0, 2.0, 4.0, 6.0, 8.0, 10.0)),
}

#: The final validation loss terms (nats per example) read from each run's history.csv.
ELBO_KEYS = ("total_loss", "reconstruction", "kl")
SUMMARY_KEYS = (*METRIC_KEYS, *ELBO_KEYS)
RUN_COLUMNS = ("model", "setting", "value", "seed", *SUMMARY_KEYS, "run_dir")
SUMMARY_COLUMNS = (
    "model",
    "setting",
    "value",
    "seeds",
    *(f"{key}_{statistic}" for key in SUMMARY_KEYS for statistic in ("mean", "std")),
)
RESULT_FILE = "disentanglement.json"


def run_disentanglement_sweep(
    base_config,
    models=None,
    values=None,
    seeds=(0, 1, 2),
    output_dir="runs/disentanglement",
    num_examples=10000,
    log=print,
):
    """Trains and measures every model of `models` at each of its values and seeds.

    Every run is `dataclasses.replace(base_config, model=..., <setting>=value,
    seed=seed)` (with the entry's `fixed` settings) in
    `<output_dir>/<model>/<setting><value>_seed<seed>`; the settings of
    `base_config` that only some models take (`capacity_steps`,
    `kl_warmup_epochs`, ...) apply to the models that take them. Every
    run's config is checked before anything trains. Each run is measured by
    `disentanglement_run` on the first `num_examples` test images, with its
    own seed, and its final validation loss terms are read from its
    history. A finished point is reused (nothing trains or is measured
    again) unless it was measured on another `num_examples`.

    Args:
        base_config: A `TrainConfig` on data with known factors: everything
            but `model`, `seed`, `output_dir` and the swept settings.
        models: Keys of `PUBLISHED_VALUES` (None: all of them).
        values: `{model: values}` in place of the published values of some
            models (None: the published ones).
        seeds: The seeds of every model and value.
        output_dir: Folder of the sweep: a folder of runs per model, the two
            CSV files and the figure.
        num_examples: Test images measured per run (at most the split's).
        log: Called with lines of text (progress, each run's results), or None.

    Returns:
        One dict per run with the keys of `RUN_COLUMNS`.

    Raises:
        ValueError: naming the bad input (an unknown model, data without
            factors, a setting the sweep sets, a run's invalid config).
    """
    check_positive_int("num_examples", num_examples)
    points, labels = _points(base_config, models, values, seeds, output_dir)
    arrays = None if base_config.data_dir else data.load_dataset(base_config.dataset)
    measured_with = {"num_examples": num_examples}

    def measure(run_dir, previous):
        result = disentanglement_run(
            run_dir, "test", num_examples, seed=read_config(run_dir).seed, arrays=arrays
        )
        return {**result, **final_loss_terms(run_dir), "measured_with": measured_with}

    results = measure_points(
        base_config,
        points,
        measure,
        RESULT_FILE,
        _describe,
        reusable=lambda result: result.get("measured_with") == measured_with,
        log=log,
    )
    rows = [
        {**label, **{key: result[key] for key in SUMMARY_KEYS}, "run_dir": run_dir}
        for (_, _, run_dir), label, result in zip(points, labels, results)
    ]
    write_disentanglement_sweep(rows, output_dir)
    return rows


def _points(base_config, models, values, seeds, output_dir):
    """The sweep's `(name, overrides, run_dir)` points and their CSV labels, all checked."""
    models = list(PUBLISHED_VALUES) if models is None else list(models)
    unknown = [model for model in models if model not in PUBLISHED_VALUES]
    if unknown or not models or len(set(models)) != len(models):
        raise ValueError(
            f"models must be distinct keys of PUBLISHED_VALUES ({', '.join(PUBLISHED_VALUES)}); "
            f"got {models}."
        )
    values = dict(values or {})
    strays = [model for model in values if model not in models]
    if strays:
        raise ValueError(f"values are given for {strays}, which the sweep's models {models} omit.")
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds) or not all(_whole(seed) for seed in seeds):
        raise ValueError(f"seeds must be distinct whole numbers >= 0; got {seeds}.")
    seeds = [int(seed) for seed in seeds]  # numpy's integers are no JSON (config.json)
    source = data_source(base_config)
    if source.factors is None:
        raise ValueError(
            f"{source.name} has no known factors of variation: the disentanglement sweep needs "
            f"a dataset that has them (dataset={' or dataset='.join(data.factor_dataset_names())})."
        )
    if base_config.autoencoder:
        raise ValueError("The sweep sets each run's model: leave base_config's autoencoder False.")
    _check_base_settings(base_config, models)
    points, labels = [], []
    for model in models:
        entry = PUBLISHED_VALUES[model]
        chosen = list(values.get(model, entry.values))
        if not chosen or len(set(chosen)) != len(chosen):
            raise ValueError(f"{model}: values must be distinct and at least one; got {chosen}.")
        for value in chosen:
            for seed in seeds:
                overrides = {
                    **_foreign_settings(base_config, entry.model),
                    "model": entry.model,
                    **entry.fixed,
                    entry.setting: value,
                    "seed": seed,
                }
                try:
                    dataclasses.replace(base_config, **overrides).validate()
                except (TypeError, ValueError) as error:
                    raise ValueError(f"{model} with {entry.setting}={value!r}: {error}") from None
                run_dir = os.path.join(output_dir, model, f"{entry.setting}{value:g}_seed{seed}")
                name = f"{model} {entry.setting}={value:g} seed {seed}"
                points.append((name, overrides, run_dir))
                labels.append(
                    {"model": model, "setting": entry.setting, "value": value, "seed": seed}
                )
    return points, labels


def _whole(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0


def _check_base_settings(base_config, models):
    """Refuses base settings the sweep sets itself, or that none of its models takes."""
    defaults = TrainConfig()
    changed = {
        name
        for name in specific_settings()
        if getattr(base_config, name) != getattr(defaults, name)
    }
    entries = [PUBLISHED_VALUES[model] for model in models]
    for entry, model in zip(entries, models):
        for name in (entry.setting, *entry.fixed):
            if name in changed:
                raise ValueError(
                    f"The sweep sets {name} of {model} itself, so {name}="
                    f"{getattr(base_config, name)!r} in the base config cannot apply: leave it "
                    "out (the sweep's values are the published ones, or those given for the "
                    "model)."
                )
    used = {name for entry in entries for name in get_variant(entry.model).setting_names()}
    unused = sorted(changed - used)
    if unused:
        raise ValueError(
            f"The base config sets {', '.join(unused)}, which none of the sweep's models "
            f"takes; drop it or sweep a model that takes it "
            f"({' or '.join(sorted({m for name in unused for m in takers(name)}))})."
        )


def _foreign_settings(base_config, model):
    """Base settings of other models back at their defaults: they apply where taken."""
    defaults = TrainConfig()
    taken = get_variant(model).setting_names()
    return {
        name: getattr(defaults, name)
        for name in specific_settings()
        if name not in taken and getattr(base_config, name) != getattr(defaults, name)
    }


def final_loss_terms(run_dir):
    """The run's last validation `total_loss`, `reconstruction` and `kl` (NaN if not measured).

    Example: `final_loss_terms("runs/disentanglement/vae/beta4_seed0")["kl"]`.
    """
    history = read_history(os.path.join(run_dir, HISTORY_FILE))
    columns = {
        "total_loss": "val_total_loss",
        "reconstruction": "val_reconstruction_loss",
        "kl": "val_kl_loss",
    }
    return {key: history.get(column, [math.nan])[-1] for key, column in columns.items()}


def _describe(result):
    return (
        "  ".join(f"{key} {result[key]:.3f}" for key in METRIC_KEYS)
        + f"  validation negative ELBO {result['total_loss']:.2f}"
    )


def summarize(rows):
    """One row per model and value: mean and standard deviation over its seeds.

    The standard deviation is the sample one (divided by n - 1), NaN for a
    single seed. Rows keep the order of their first run.

    Example:

    ```python
    summarize([{"model": "vae", "setting": "beta", "value": 1.0, "mig": m, ...}, ...])
    # [{"model": "vae", "setting": "beta", "value": 1.0, "seeds": 3, "mig_mean": ..., ...}]
    ```
    """
    groups = {}
    for row in rows:
        groups.setdefault((row["model"], row["setting"], row["value"]), []).append(row)
    summary = []
    for (model, setting, value), runs in groups.items():
        entry = {"model": model, "setting": setting, "value": value, "seeds": len(runs)}
        for key in SUMMARY_KEYS:
            numbers = np.array([run[key] for run in runs], "float64")
            entry[f"{key}_mean"] = float(numbers.mean())
            entry[f"{key}_std"] = float(numbers.std(ddof=1)) if len(runs) > 1 else math.nan
        summary.append(entry)
    return summary


def write_disentanglement_sweep(rows, output_dir):
    """Writes the runs' table, the summary over seeds and the figure into `output_dir`.

    `disentanglement_runs.csv` (`rows`, with `RUN_COLUMNS`),
    `disentanglement_summary.csv` (`summarize(rows)`) and
    `disentanglement_sweep.png`, each whole or not at all. Returns the summary.
    """
    summary = summarize(rows)
    write_csv(rows, RUN_COLUMNS, os.path.join(output_dir, "disentanglement_runs.csv"))
    write_csv(summary, SUMMARY_COLUMNS, os.path.join(output_dir, "disentanglement_summary.csv"))
    plotting.save_figure(
        plotting.disentanglement_sweep_figure(rows, summary),
        os.path.join(output_dir, "disentanglement_sweep.png"),
    )
    return summary
