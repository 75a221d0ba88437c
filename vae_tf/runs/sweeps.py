"""Sweeps over latent size and beta, and comparisons of one setting: train, evaluate, plot.

Every point is an ordinary run directory (`<output_dir>/latent<d>_beta<b>`)
with its `evaluation.json`: the likelihood figures and the sample quality
(FID, precision, recall, judged by the dataset's cached classifier; NaN for
unlabelled data, which has no judge). A sweep that stops half-way resumes
where it left off when run again, reusing the finished points
(`measure_points`, which any sweep of runs shares, with `write_csv`: the
disentanglement sweep of `vae_tf.runs.disentanglement_sweep` is one).

Example:

```python
base = TrainConfig(architecture="mlp", epochs=5)
rows = run_sweep(base, latent_dims=(2, 10), betas=(1, 4), output_dir="runs/sweep")
# runs/sweep/sweep.csv and runs/sweep/sweep.png
rows = run_comparison(base, "kl_warmup_epochs", (0, 10), output_dir="runs/warmup")
# runs/warmup/comparison.csv and comparison.png: curves against epoch, NLL and active units
```
"""

import csv
import dataclasses
import math
import os
import warnings

from vae_tf import data
from vae_tf import plotting
from vae_tf.metrics.judge import NoJudgeError
from vae_tf.runs.artifacts import HISTORY_FILE
from vae_tf.runs.artifacts import MODEL_FILE
from vae_tf.runs.artifacts import read_history
from vae_tf.runs.evaluate import evaluate_run
from vae_tf.runs.evaluate import sample_quality_run
from vae_tf.runs.loop import train
from vae_tf.utils.files import DamagedFileError
from vae_tf.utils.files import atomic_path
from vae_tf.utils.files import read_json
from vae_tf.utils.files import write_json
from vae_tf.utils.progress import ProgressClock

COLUMNS = (
    "latent_dim",
    "beta",
    "reconstruction",
    "kl",
    "elbo",
    "nll",
    "nll_standard_error",
    "active_units",
    "fid",
    "precision",
    "recall",
    "run_dir",
)
COMPARISON_COLUMNS = ("setting", "value", "latent_dim", *COLUMNS[2:])
LATENT_DIMS = (2, 10, 20, 50, 100)
BETAS = (0.5, 1.0, 2.0, 4.0)


def point_dir(output_dir, latent_dim, beta):
    """The run directory of one point of the sweep."""
    return os.path.join(output_dir, f"latent{latent_dim}_beta{beta:g}")


def run_sweep(
    base_config,
    latent_dims=LATENT_DIMS,
    betas=BETAS,
    output_dir="runs/sweep",
    num_samples=100,
    num_examples=1000,
    sample_quality=True,
    sample_quality_examples=10000,
    judge_epochs=3,
    log=print,
):
    """Trains and evaluates `base_config` at every (latent_dim, beta).

    Args:
        base_config: A `TrainConfig`: everything but `latent_dim`, `beta` and
            `output_dir`, which the sweep sets.
        latent_dims: Latent sizes to try.
        betas: KL weights to try.
        output_dir: Folder of the sweep: one run directory per point, plus
            `sweep.csv` and `sweep.png`.
        num_samples: K of the importance-weighted NLL.
        num_examples: Test images evaluated per point.
        sample_quality: Also measure the samples (`vae_tf.runs.evaluate.sample_quality_run`).
        sample_quality_examples: Test images compared with as many samples.
        judge_epochs: Epochs of the judge classifier (trained once, cached).
        log: Called with lines of text: before each point to compute (which
            of how many, the time left) and with its results (None: silent).

    Returns:
        One dict per point with the keys of `COLUMNS`, nats per example
        (`fid`, `precision`, `recall` NaN when not measured).
    """
    points = [
        (
            f"latent {latent_dim:3d}  beta {beta:4g}",
            {"latent_dim": latent_dim, "beta": float(beta)},
            point_dir(output_dir, latent_dim, beta),
        )
        for latent_dim in latent_dims
        for beta in betas
    ]
    results = _measure_points(
        base_config,
        points,
        num_samples,
        num_examples,
        sample_quality,
        sample_quality_examples,
        judge_epochs,
        log,
    )
    rows = [
        {key: _or_nan({**result, **overrides, "run_dir": run_dir}.get(key)) for key in COLUMNS}
        for (_, overrides, run_dir), result in zip(points, results)
    ]
    write_sweep(rows, output_dir)
    return rows


def read_result(path):
    """A point's saved results, or None to measure it (again, if its file is damaged).

    Example: `read_result("runs/sweep/latent2_beta1/evaluation.json")["nll"]`.
    """
    if not os.path.isfile(path):
        return None
    try:
        return read_json(path, fix="the sweep measures the point again")
    except DamagedFileError as error:
        # A hand edit or a copy cut short: the point's model is whole, so
        # measuring it again costs seconds, not a training.
        warnings.warn(str(error))
        return None


def measure_points(base_config, points, measure, result_file, describe, reusable=None, log=print):
    """Trains (unless done) and measures every point of a sweep; their results, in order.

    Each point is `(name, overrides, run_dir)`: the run
    `dataclasses.replace(base_config, **overrides, output_dir=run_dir)`,
    trained unless `run_dir` holds its model already (an interrupted
    training resumes). `measure(run_dir, previous)` returns its results, a
    JSON-ready dict, kept in `<run_dir>/<result_file>`; `previous` is what
    that file held when `reusable(previous)` refused it, else None. A point
    whose file is there (and reusable) is neither trained nor measured, so
    an interrupted sweep resumes and a finished one costs nothing.

    Example:

    ```python
    points = [("beta 4", {"beta": 4.0}, "runs/b/beta4")]
    (result,) = measure_points(base, points, lambda run_dir, previous: evaluate_run(run_dir),
                               "evaluation.json", lambda result: f"NLL {result['nll']:.2f}")
    ```

    Args:
        base_config: A `TrainConfig`: every point's settings but its overrides.
        points: `(name, overrides, run_dir)` tuples; `name` heads the log lines.
        measure: `measure(run_dir, previous) -> dict` of a trained run.
        result_file: The name of the results' file in each run directory.
        describe: `describe(result) -> str`: the results' log line.
        reusable: `reusable(result) -> bool`: whether saved results stand
            (None: all do); refused ones are measured again, not retrained.
        log: Called with a line before each point to compute (which of how
            many, the time left) and one with each point's results (None: silent).
    """
    clock = ProgressClock(len(points))
    results = []
    for index, (name, overrides, run_dir) in enumerate(points, 1):
        result_path = os.path.join(run_dir, result_file)
        point = f"[{index}/{len(points)}] {name}"
        result = read_result(result_path)
        if result is not None and (reusable is None or reusable(result)):
            clock.skip()
        else:
            if log:
                left = clock.left()
                log(f"{point}: training and evaluating" + (f" ({left})" if left else ""))
            clock.start()
            if not os.path.isfile(os.path.join(run_dir, MODEL_FILE)):
                train(dataclasses.replace(base_config, **overrides, output_dir=run_dir), verbose=0)
            result = measure(run_dir, result)
            write_json(result, result_path)
            clock.finish()
        results.append(result)
        if log:
            log(f"{point}:  {describe(result)}")
    return results


def _measure_points(
    base_config,
    points,
    num_samples,
    num_examples,
    sample_quality,
    sample_quality_examples,
    judge_epochs,
    log,
):
    """`measure_points` in nats and sample quality: each point's `evaluation.json`."""
    if base_config.autoencoder or base_config.likelihood == "mse":
        raise ValueError(
            "A sweep measures ELBO and NLL in nats: it needs a VAE with a Bernoulli or "
            "Gaussian likelihood (not the autoencoder or the mse objective)."
        )
    # Loaded once for every point's evaluation (a folder's images stay on disk).
    arrays = None if base_config.data_dir else data.load_dataset(base_config.dataset)
    measure_quality = sample_quality

    def measure(run_dir, result):
        nonlocal measure_quality
        if result is None:
            result = evaluate_run(
                run_dir,
                num_samples=num_samples,
                num_examples=num_examples,
                seed=base_config.seed or 0,
                arrays=arrays,
            )
        if measure_quality:
            try:
                result.update(
                    sample_quality_run(
                        run_dir,
                        sample_quality_examples,
                        seed=base_config.seed or 0,
                        judge_epochs=judge_epochs,
                        arrays=arrays,
                        log=log,
                    )
                )
            except NoJudgeError as error:
                measure_quality = False
                if log:
                    log(f"No sample quality in this sweep: {error}")
        return result

    # A point evaluated before sample quality was measured gets it now.
    def reusable(result):
        return not measure_quality or "fid" in result

    return measure_points(
        base_config, points, measure, "evaluation.json", describe_result, reusable, log
    )


def describe_result(result):
    """One line of a run's evaluation: its nats, active units, sample quality and MIG.

    Example: `describe_result(evaluate_run("runs/x"))` is "reconstruction 137.14  KL ...".
    """
    likelihood = (
        f"KL {result['kl']:6.2f}  ELBO {result['elbo']:7.2f}  NLL {result['nll']:7.2f}  "
        if _measured(result["nll"])
        else "(no density: no ELBO nor NLL)  "
    )
    return (
        f"reconstruction {result['reconstruction']:7.2f}  {likelihood}"
        f"active units {result['active_units']}/{result['latent_dim']}"
        + (
            f"  FID {result['fid']:6.2f}  precision {result['precision']:.3f}  recall "
            f"{result['recall']:.3f}"
            if _measured(result.get("fid"))
            else ""
        )
        + (f"  MIG {result['mig']:.3f}" if "mig" in result else "")
    )


def _or_nan(value):
    return math.nan if value is None else value


def _measured(value):
    """Whether a figure was measured: not None (no density) nor NaN (a table's blank)."""
    return value is not None and math.isfinite(value)


def run_comparison(
    base_config,
    setting,
    values,
    output_dir="runs/comparison",
    num_samples=100,
    num_examples=1000,
    sample_quality=True,
    sample_quality_examples=10000,
    judge_epochs=3,
    log=print,
):
    """Trains and evaluates `base_config` once per value of one `TrainConfig` setting.

    For instance `setting="kl_warmup_epochs", values=(0, 10)`: training with
    and without KL warm-up. Every run is `<output_dir>/<setting><value>`,
    resumed or reused like a sweep's points; `comparison.csv` holds each
    run's results and `comparison.png` (`plotting.comparison_figure`) their
    negative ELBO and KL against epoch, with the NLL and active units at the
    end.

    Returns:
        One dict per value with the keys of `COMPARISON_COLUMNS`.
    """
    if not any(field.name == setting for field in dataclasses.fields(base_config)):
        raise ValueError(f"{setting!r} is not a TrainConfig setting; see docs/flags.md.")
    if setting in ("output_dir",) or len(set(values)) != len(values) or len(values) < 1:
        raise ValueError(
            f"Compare one setting (not output_dir) over distinct values; got "
            f"{setting}={list(values)}."
        )
    points = [
        (f"{setting}={value}", {setting: value}, os.path.join(output_dir, f"{setting}{value}"))
        for value in values
    ]
    # Each value's config is checked before anything trains.
    for _, overrides, run_dir in points:
        dataclasses.replace(base_config, **overrides, output_dir=run_dir)
    results = _measure_points(
        base_config,
        points,
        num_samples,
        num_examples,
        sample_quality,
        sample_quality_examples,
        judge_epochs,
        log,
    )
    rows = [
        {
            # A model without a density has no ELBO nor NLL: NaN, as a figure not measured.
            key: _or_nan(
                {**result, "setting": setting, "value": value, "run_dir": run_dir}.get(key)
            )
            for key in COMPARISON_COLUMNS
        }
        for value, (_, _, run_dir), result in zip(values, points, results)
    ]
    write_csv(rows, COMPARISON_COLUMNS, os.path.join(output_dir, "comparison.csv"))
    runs = [
        {"label": name, "history": read_history(os.path.join(run_dir, HISTORY_FILE)), **row}
        for (name, _, run_dir), row in zip(points, rows)
    ]
    plotting.save_figure(
        plotting.comparison_figure(runs), os.path.join(output_dir, "comparison.png")
    )
    return rows


def write_sweep(rows, output_dir):
    """Writes `sweep.csv` and the trade-off figure `sweep.png` into `output_dir`."""
    write_csv(rows, COLUMNS, os.path.join(output_dir, "sweep.csv"))
    plotting.save_figure(plotting.sweep_figure(rows), os.path.join(output_dir, "sweep.png"))


def write_csv(rows, columns, path):
    """Writes `rows` (dicts keyed by `columns`) to the CSV file `path`, whole or not at all.

    Example: `write_csv([{"beta": 1.0, "nll": 90.1}], ("beta", "nll"), "runs/b/table.csv")`.
    """
    with atomic_path(path) as partial:
        with open(partial, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)


def read_sweep(output_dir):
    """The rows of a sweep's `sweep.csv`, numbers as numbers."""
    with open(os.path.join(output_dir, "sweep.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    numbers = {"latent_dim": int, "active_units": int}
    return [
        {
            key: value if key == "run_dir" else numbers.get(key, float)(value)
            for key, value in row.items()
        }
        for row in rows
    ]
