"""How train.py's step scales: batch size, thread pools, devices, latent size and IWAE's K.

Every measurement runs in a fresh Python process (`python -m
benchmarks.scaling JOB`), because TensorFlow fixes its thread pools and its
logical devices when it starts: the process sets them, builds train.py's
model of the job's settings (under `tf.distribute.MirroredStrategy` over
logical CPUs for a job with `devices` > 1), and times `steps` steps of `fit`
on dynamically binarized MNIST as `benchmarks.benchmark` times the modes
(from the end of the first compiled call). The jobs of a table run one
after another, each timed `repeats` times in its own process.

Example:

```python
rows = measure_scaling(SCALING_JOBS["batch size"], architecture="conv", repeats=3)
print(scaling_table(rows))
```
"""

import json
import math
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Images per timing: the steps of a job are this over its batch size (at least 10).
IMAGES_PER_TIMING = 5120

# The tables of docs/speed.md: name -> jobs, each `(label, settings, threads, devices)`.
SCALING_JOBS = {
    "batch size": [
        (f"batch {batch}", {"batch_size": batch}, None, 1)
        for batch in (32, 64, 128, 256, 512, 1024)
    ],
    "thread pools": [
        (f"{threads} thread{'s' if threads > 1 else ''}", {}, threads, 1) for threads in (1, 2, 4)
    ],
    "devices": [
        ("one device, 1 step per call", {"steps_per_execution": 1}, None, 1),
        ("one device, 10 steps per call (train.py's)", {}, None, 1),
        ("MirroredStrategy, 2 logical CPUs (1 step per call)", {}, None, 2),
    ],
    "latent size": [(f"latent {size}", {"latent_dim": size}, None, 1) for size in (2, 8, 32, 128)],
    "IWAE K": [
        ("ELBO, K=1", {"latent_dim": 50}, None, 1),
        *(
            (f"IWAE, K={k}", {"latent_dim": 50, "objective": "iwae", "num_samples": k}, None, 1)
            for k in (2, 5, 10, 20)
        ),
    ],
}


def job_steps(batch_size):
    """Steps per timing: `IMAGES_PER_TIMING` images, at least 10 steps."""
    return max(10, math.ceil(IMAGES_PER_TIMING / batch_size))


def run_job(settings, threads=None, devices=1, repeats=3):
    """`(images per second, steps per call)` of one job, measured in a fresh process."""
    job = {"settings": settings, "threads": threads, "devices": devices, "repeats": repeats}
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.scaling", json.dumps(job)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode or not lines:
        raise RuntimeError(f"The job {job} failed:\n{completed.stderr[-2000:]}")
    result = json.loads(lines[-1])
    return result["images_per_second"], result["steps_per_execution"]


def measure_scaling(jobs, architecture="conv", latent_dim=2, repeats=3, log=None):
    """`[(label, images per second, steps per call)]` of each job over train.py's plain model.

    Args:
        jobs: `(label, settings, threads, devices)` tuples (see `SCALING_JOBS`);
            the settings change train.py's of `architecture` and `latent_dim`.
        repeats: Timings per job (the median counts), in one process.
        log: Optional `print`-like function for progress.
    """
    log = log or (lambda message: None)
    rows = []
    for label, settings, threads, devices in jobs:
        settings = {"architecture": architecture, "latent_dim": latent_dim, **settings}
        speed, every = run_job(settings, threads, devices, repeats)
        log(f"{label}: {speed:,.0f} images/s")
        rows.append((label, speed, every))
    return rows


def scaling_table(rows, reference=0):
    """A Markdown table of `measure_scaling`'s rows, with each one's speed over row `reference`'s."""
    base = rows[reference][1]
    lines = [
        "| setting | images/s | x first row | steps per call |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, speed, every in rows:
        lines.append(f"| {label} | {speed:,.0f} | {speed / base:.2f} | {every} |")
    return "\n".join(lines)


def _measure(job):
    """Runs one job in this (fresh) process; returns its result dict."""
    import tensorflow as tf

    if job["threads"]:
        tf.config.threading.set_intra_op_parallelism_threads(job["threads"])
        tf.config.threading.set_inter_op_parallelism_threads(job["threads"])
    strategy = None
    if job["devices"] > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * job["devices"]
        )
        devices = [f"/cpu:{index}" for index in range(job["devices"])]
        strategy = tf.distribute.MirroredStrategy(devices)

    from benchmarks.benchmark import timed_steps
    from vae_tf import data
    from vae_tf.runs import TrainConfig
    from vae_tf.runs import build_model

    config = TrainConfig(seed=0, **job["settings"])
    config.validate()
    images = data.load_mnist()[0][0]
    dataset = data.make_dataset(
        images, batch_size=config.batch_size, shuffle=True, binarize=True, seed=0
    ).repeat()
    if strategy is None:
        model = build_model(config)
    else:
        with strategy.scope():
            model = build_model(config)
    model.dataset_size = len(images)
    steps = job_steps(config.batch_size)
    timed_steps(model, dataset, steps)  # traces the step: not timed
    seconds = [timed_steps(model, dataset, steps)[0] for _ in range(job["repeats"])]
    return {
        "images_per_second": steps * config.batch_size / statistics.median(seconds),
        "steps_per_execution": model.steps_per_execution,
    }


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    print(json.dumps(_measure(json.loads(sys.argv[1]))))
