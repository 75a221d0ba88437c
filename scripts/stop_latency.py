"""Seconds from a SIGTERM (or Ctrl-C) to the exit of a training, per architecture preset.

A preempted job has a grace period (Kubernetes 30 s by default, Slurm's
`KillWait` 30 s, a Google Cloud spot VM 30 s, AWS's 2-minute notice): this
measures how much of it `scripts/train.py` needs to finish its step, write a
checkpoint there and exit. Each measure trains in a fresh process until its
first checkpoint, waits a random part of a second more, sends the signal and
times the exit.

    python scripts/stop_latency.py                                # conv on MNIST, conv64 on shapes
    python scripts/stop_latency.py --presets=conv --repeats=5 --signal=SIGINT
"""

import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from vae_tf import cli  # noqa: E402
from vae_tf.callbacks import TrainingCheckpoint  # noqa: E402

# Each preset's data: conv64 is made for 64x64 images.
DATASETS = {"conv": "mnist", "mlp": "mnist", "conv64": "shapes"}

flags.DEFINE_list("presets", ["conv", "conv64"], f"Architecture presets ({', '.join(DATASETS)}).")
flags.DEFINE_integer("repeats", 3, "Measures per preset.", lower_bound=1)
flags.DEFINE_integer("batch_size", 128, "Batch size of the training.", lower_bound=1)
flags.DEFINE_enum("signal", "SIGTERM", ["SIGTERM", "SIGINT"], "The signal to send.")
FLAGS = flags.FLAGS

TRAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train.py")


def _seconds_to_stop(preset, folder):
    output_dir = os.path.join(folder, "run")
    process = subprocess.Popen(
        [
            sys.executable,
            TRAIN,
            f"--architecture={preset}",
            f"--dataset={DATASETS[preset]}",
            f"--batch_size={FLAGS.batch_size}",
            "--epochs=1",
            "--checkpoint_steps=5",
            "--latent_dim=16",
            f"--output_dir={output_dir}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    checkpoints = os.path.join(f"{output_dir}.partial", "checkpoint")
    while process.poll() is None and not TrainingCheckpoint.latest(checkpoints):
        time.sleep(0.02)
    if process.poll() is not None:
        raise RuntimeError(f"train.py ended before its first checkpoint:\n{process.stderr.read()}")
    time.sleep(random.uniform(0.0, 1.0))
    start = time.perf_counter()
    process.send_signal(getattr(signal, FLAGS.signal))
    _, stderr = process.communicate()
    seconds = time.perf_counter() - start
    line = stderr.strip().splitlines()[-1]
    if process.returncode != 128 + getattr(signal, FLAGS.signal):
        raise RuntimeError(f"train.py exited with {process.returncode}: {line}")
    return seconds, line


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    unknown = sorted(set(FLAGS.presets) - set(DATASETS))
    if unknown:
        raise app.UsageError(f"Unknown --presets {unknown}; choose from {list(DATASETS)}.")
    print(f"{FLAGS.signal} to exit, batch {FLAGS.batch_size}, {FLAGS.repeats} measures each:")
    for preset in FLAGS.presets:
        measures = []
        for _ in range(FLAGS.repeats):
            with tempfile.TemporaryDirectory() as folder:
                seconds, line = _seconds_to_stop(preset, folder)
            measures.append(seconds)
        print(
            f"  {preset:7s} median {statistics.median(measures):.2f} s, max "
            f"{max(measures):.2f} s   (last: {line})"
        )


if __name__ == "__main__":
    cli.run(main)
