"""Sweeps over latent size and beta: train, evaluate in nats, plot the trade-offs.

Every point is an ordinary run directory (`<output_dir>/latent<d>_beta<b>`)
with its `evaluation.json`; a sweep that stops half-way resumes where it left
off when run again, reusing the finished points.

Example:

```python
base = TrainConfig(architecture="mlp", epochs=5)
rows = run_sweep(base, latent_dims=(2, 10), betas=(0.5, 1, 4), output_dir="runs/sweep")
# runs/sweep/sweep.csv and runs/sweep/sweep.png
```
"""

import csv
import dataclasses
import os

from vae_tf import data
from vae_tf import evaluation
from vae_tf import plotting
from vae_tf._files import atomic_path
from vae_tf._files import read_json
from vae_tf._files import write_json
from vae_tf.progress import ProgressClock
from vae_tf.runs.artifacts import MODEL_FILE
from vae_tf.runs.loop import train

COLUMNS = (
    "latent_dim", "beta", "reconstruction", "kl", "elbo", "nll", "nll_standard_error",
    "active_units", "run_dir",
)


def point_dir(output_dir, latent_dim, beta):
    """The run directory of one point of the sweep."""
    return os.path.join(output_dir, f"latent{latent_dim}_beta{beta:g}")


def run_sweep(
    base_config, latent_dims=(2, 10, 20, 50), betas=(0.5, 1.0, 2.0, 4.0),
    output_dir="runs/sweep", num_samples=100, num_examples=1000, log=print,
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
        log: Called with lines of text: before each point to compute (which
            of how many, the time left) and with its results (None: silent).

    Returns:
        One dict per point with the keys of `COLUMNS`, nats per example.
    """
    if base_config.autoencoder or base_config.likelihood == "mse":
        raise ValueError(
            "A sweep measures ELBO and NLL in nats: it needs a VAE with a Bernoulli or "
            "Gaussian likelihood (not the autoencoder or the mse objective)."
        )
    rows = []
    # Loaded once for every point's evaluation (a folder's images stay on disk).
    arrays = None if base_config.data_dir else data.load_dataset(base_config.dataset)
    points = [(latent_dim, beta) for latent_dim in latent_dims for beta in betas]
    clock = ProgressClock(len(points))
    for index, (latent_dim, beta) in enumerate(points, 1):
        run_dir = point_dir(output_dir, latent_dim, beta)
        result_path = os.path.join(run_dir, "evaluation.json")
        point = f"[{index}/{len(points)}] latent {latent_dim:3d}  beta {beta:4g}"
        if os.path.isfile(result_path):
            result = read_json(result_path)
            clock.skip()
        else:
            if log:
                left = clock.left()
                log(f"{point}: training and evaluating" + (f" ({left})" if left else ""))
            clock.start()
            if not os.path.isfile(os.path.join(run_dir, MODEL_FILE)):
                config = dataclasses.replace(
                    base_config, latent_dim=latent_dim, beta=float(beta), output_dir=run_dir
                )
                train(config, verbose=0)
            result = evaluation.evaluate_run(
                run_dir, num_samples=num_samples, num_examples=num_examples,
                seed=base_config.seed or 0, arrays=arrays,
            )
            write_json(result, result_path)
            clock.finish()
        row = {"latent_dim": latent_dim, "beta": float(beta), **result, "run_dir": run_dir}
        rows.append({key: row[key] for key in COLUMNS})
        if log:
            log(
                f"{point}:  reconstruction {row['reconstruction']:7.2f}  KL {row['kl']:6.2f}  "
                f"ELBO {row['elbo']:7.2f}  NLL {row['nll']:7.2f}  active units "
                f"{row['active_units']}/{latent_dim}"
            )
    write_sweep(rows, output_dir)
    return rows


def write_sweep(rows, output_dir):
    """Writes `sweep.csv` and the trade-off figure `sweep.png` into `output_dir`."""
    with atomic_path(os.path.join(output_dir, "sweep.csv")) as partial:
        with open(partial, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    plotting.save_figure(plotting.sweep_figure(rows), os.path.join(output_dir, "sweep.png"))


def read_sweep(output_dir):
    """The rows of a sweep's `sweep.csv`, numbers as numbers."""
    with open(os.path.join(output_dir, "sweep.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    numbers = {"latent_dim": int, "active_units": int}
    return [
        {key: value if key == "run_dir" else numbers.get(key, float)(value)
         for key, value in row.items()}
        for row in rows
    ]
