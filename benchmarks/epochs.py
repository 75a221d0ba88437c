"""Epoch times of train.py at several revisions of vae_tf, side by side in one run.

Each revision's tree is extracted from git (`git archive`) into a folder of
its own, and train.py runs from it (its `vae_tf` first on `PYTHONPATH`), in
turns: one run per revision, then the next round, so that a busy moment of a
shared machine weighs on every revision alike. A run trains `epochs` epochs
of the same settings; its epoch times are read from the `epoch_seconds`
column of its history.csv (validation included), and the first epoch, which
traces the step, is left out.

Example:

```python
times = compare_revisions(["98e653a", "HEAD"], ["--architecture=mlp", "--latent_dim=50"])
print(revisions_table(times))
```
"""

import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def revision_tree(revision, folder, repository=ROOT):
    """Extracts `revision`'s files (`vae_tf/` and `scripts/`) into `folder`; returns its commit."""
    commit = subprocess.run(
        ["git", "-C", repository, "rev-parse", "--short", revision],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    os.makedirs(folder, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", repository, "archive", commit, "vae_tf", "scripts"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    return commit


def _history_seconds(run_dir):
    """The `epoch_seconds` written so far by the run being made in (or finished at) `run_dir`."""
    for folder in (run_dir + ".partial", run_dir):
        path = os.path.join(folder, "history.csv")
        if os.path.exists(path):
            with open(path) as f:
                return [float(row["epoch_seconds"]) for row in csv.DictReader(f)]
    return []


def epoch_seconds(tree, train_flags, epochs, run_dir):
    """The `epoch_seconds` of each epoch of `train.py train_flags --epochs=epochs` run from `tree`.

    The run is stopped once its last epoch is in its history: what train.py
    does after training (the figures, the export) is not timed, and takes
    minutes where sampling is slow (a PixelCNN decoder).
    """
    command = [
        sys.executable,
        os.path.join(tree, "scripts", "train.py"),
        *train_flags,
        f"--epochs={epochs}",
        f"--output_dir={run_dir}",
    ]
    environment = {**os.environ, "PYTHONPATH": tree}
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=output)
        try:
            while process.poll() is None and len(_history_seconds(run_dir)) < epochs:
                time.sleep(1)
        finally:  # also when the benchmark itself is interrupted
            process.kill()
            process.wait()
        seconds = _history_seconds(run_dir)
        if len(seconds) < epochs:
            output.seek(0)
            tail = output.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"train.py stopped after {len(seconds)} epochs:\n{tail}")
    return seconds


def compare_revisions(revisions, train_flags, epochs=2, rounds=2, log=None):
    """`{commit: [epoch seconds, ...]}`: train.py's epochs after the first, at each revision.

    Args:
        revisions: Git revisions of this repository (commits, tags, "HEAD").
        train_flags: train.py's flags, the same for every revision.
        epochs: Epochs per run (>= 2: the first, which traces, is left out).
        rounds: Runs per revision, in turns.
        log: Optional `print`-like function for progress.
    """
    if epochs < 2:
        raise ValueError(f"epochs must be >= 2 (the first is left out); got {epochs}.")
    log = log or (lambda message: None)
    work = tempfile.mkdtemp(prefix="vae_tf_epochs_")
    try:
        trees = {}
        for revision in revisions:
            folder = os.path.join(work, f"tree{len(trees)}")
            commit = revision_tree(revision, folder)
            if commit in trees:
                raise ValueError(f"{revision} is commit {commit} again: give distinct commits.")
            trees[commit] = folder
        times = {commit: [] for commit in trees}
        for round_ in range(rounds):
            order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
            for commit in order:
                run_dir = os.path.join(work, f"run_{commit}_{round_}")
                seconds = epoch_seconds(trees[commit], train_flags, epochs, run_dir)[1:]
                times[commit].extend(seconds)
                log(
                    f"round {round_ + 1}/{rounds}: {commit} {', '.join(f'{s:.1f}' for s in seconds)} s"
                )
                for folder in (run_dir, run_dir + ".partial"):
                    shutil.rmtree(folder, ignore_errors=True)
        return times
    finally:
        shutil.rmtree(work, ignore_errors=True)


def revisions_table(times):
    """A Markdown table: each revision's median epoch time and its change from the first's."""
    first = statistics.median(next(iter(times.values())))
    lines = [
        "| revision | epochs timed | seconds per epoch (median) | change |",
        "| --- | ---: | ---: | ---: |",
    ]
    for commit, seconds in times.items():
        median = statistics.median(seconds)
        lines.append(
            f"| {commit} | {len(seconds)} | {median:.2f} | {100 * (median / first - 1):+.1f}% |"
        )
    return "\n".join(lines)
