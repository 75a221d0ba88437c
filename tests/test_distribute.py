"""tf.distribute: free bits and noise on two replicas; two workers write one run.

Every variant trains alike on two replicas and one device: `run_variant_test`
checks it (tests/test_variants.py). The MirroredStrategy check here needs two logical CPUs, which must be configured
before TensorFlow starts, so it runs in a fresh process: this file run as a
script (`python tests/test_distribute.py mirrored`).
"""

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import types

import numpy as np
import pytest
from conftest import REPO
from conftest import run_python
from harness import assert_replicas_train_like_one_device

import vae_tf
from vae_tf import distribute
from vae_tf.callbacks import TrainingCheckpoint

TRAIN = os.path.join(REPO, "scripts", "train.py")


def _free_bits_model(strategy):
    """A VAE whose free-bits floor holds for one latent dimension and not the other."""
    import keras

    keras.utils.set_random_seed(0)
    with strategy.scope():
        encoder, decoder = vae_tf.build_encoder_decoder("mlp", 2)
        # z's standard deviation exp(-15) makes the replicas' own noise
        # irrelevant; KL_j = 14.5 + m_j^2 / 2 puts dimension 0 (m ~ 3)
        # above the free-bits floor of 16 and dimension 1 below it.
        encoder.get_layer("z_log_var").bias.assign([-30.0, -30.0])
        encoder.get_layer("z_mean").bias.assign([3.0, 0.0])
        model = vae_tf.VAE(encoder, decoder, free_bits=16.0, seed=0)
        # Plain SGD: a replica-count error would scale the updates (Adam
        # would hide it).
        model.compile(optimizer=keras.optimizers.SGD(1e-4), steps_per_execution=1)
    return model


def _check_mirrored_matches_one_device():
    """Free bits floor the KL of the GLOBAL batch; replicas draw their own noise.

    Every variant's reduction over replicas is checked by
    `harness.run_variant_test` (tests/test_variants.py); the floor, taken of
    the global batch's mean per dimension, is checked here.
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    mirrored = distribute.make_strategy("mirrored")
    assert mirrored.num_replicas_in_sync == 2, mirrored.num_replicas_in_sync
    # 5 batches of 20 and a last one of 1: one replica gets no example in it.
    images = vae_tf.data.load_mnist()[1][0][:101]
    assert_replicas_train_like_one_device(_free_bits_model, images, 20, mirrored)

    with mirrored.scope():
        sampler = vae_tf.Sampler(seed=1)

    @tf.function
    def draw():
        return mirrored.run(lambda: sampler([tf.zeros((4, 2)), tf.zeros((4, 2))]))

    first, second = (np.array(z) for z in mirrored.experimental_local_results(draw()))
    assert not np.allclose(first, second), "both replicas drew the same noise"
    print("OK")


@pytest.mark.slow
def test_free_bits_floor_the_global_batch_on_two_replicas_and_replicas_draw_their_own_noise():
    result = run_python([os.path.abspath(__file__), "mirrored"], timeout=600)
    assert result.returncode == 0 and result.stdout.strip().endswith("OK"), (
        result.stdout[-3000:] + result.stderr[-3000:]
    )


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _start_workers(cluster, run_dir, scratch):
    workers = []
    for index in range(2):
        tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(tf_config), "TMPDIR": str(scratch)}
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    TRAIN,
                    "--strategy=multi_worker",
                    f"--output_dir={run_dir}",
                    "--architecture=mlp",
                    "--epochs=4",
                    "--steps_per_epoch=10",
                    "--batch_size=64",
                    "--checkpoint_steps=3",
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    return workers


def _outputs(workers):
    try:
        return [worker.communicate(timeout=420)[0] for worker in workers]
    finally:
        for worker in workers:
            worker.kill()


@pytest.mark.slow
def test_two_workers_on_localhost_stop_together_on_sigterm_and_only_the_chief_writes(tmp_path):
    cluster = {"worker": [f"localhost:{_free_port()}" for _ in range(2)]}
    run_dir = tmp_path / "run"
    checkpoints = os.path.join(f"{run_dir}.partial", "checkpoint")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    workers = _start_workers(cluster, run_dir, scratch)
    # A preemption of worker 1 alone, at a random moment after the first checkpoint.
    deadline = time.time() + 300
    while not TrainingCheckpoint.latest(checkpoints) and time.time() < deadline:
        assert all(worker.poll() is None for worker in workers), _outputs(workers)[0][-4000:]
        time.sleep(0.05)
    time.sleep(random.uniform(0.0, 1.0))
    workers[1].send_signal(signal.SIGTERM)
    outputs = _outputs(workers)
    # The script's last line; TensorFlow's C++ runtime may log after it, as a worker
    # left behind by the other loses its heartbeats ("Failed to send RPC to
    # coordination service").
    stop = re.compile(
        r"^train\.py: Terminated (?:in epoch \d at step (\d+)|at the end of epoch "
        r"\d \(step (\d+)\)): saved a checkpoint in (\S+); run the same command "
        r"on every worker to resume\.$",
        re.MULTILINE,
    )
    steps = []
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 143, output[-4000:]
        assert "Traceback" not in output
        (match,) = [m for m in stop.finditer(output)] or [None]
        assert match and match[3] == checkpoints, output[-2000:]
        steps.append(int(match[1] or match[2]))
    assert steps[0] == steps[1] == TrainingCheckpoint.latest(checkpoints)["step"] < 40
    assert not run_dir.exists()
    assert not [name for name in os.listdir(scratch) if name.startswith("vae_tf_worker_")]

    workers = _start_workers(cluster, run_dir, scratch)
    outputs = _outputs(workers)
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-4000:]
    assert f"Resuming {run_dir}:" in outputs[0]
    assert "Run written to" in outputs[0] and "Run written to" not in outputs[1]
    assert sorted(os.listdir(tmp_path)) == ["run", "scratch"]  # no .partial left
    assert not [name for name in os.listdir(scratch) if name.startswith("vae_tf_worker_")]
    for name in ("vae.keras", "config.json", "history.csv", "loss.png", "saved_model"):
        assert (run_dir / name).exists(), name
    history = vae_tf.runs.read_history(run_dir / "history.csv")
    assert len(history["total_loss"]) == 4 and np.isfinite(history["val_total_loss"]).all()
    assert json.loads((run_dir / "config.json").read_text())["strategy"] == "multi_worker"


def test_strategies_by_name_and_their_errors(monkeypatch):
    import tensorflow as tf

    assert distribute.make_strategy("default") is tf.distribute.get_strategy()
    assert distribute.make_strategy("mirrored").num_replicas_in_sync >= 1
    with pytest.raises(ValueError, match="strategy must be one of"):
        distribute.make_strategy("horovod")
    with pytest.raises(ValueError, match="found no TPU"):
        distribute.make_strategy("tpu")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG environment variable, which is not set"):
        distribute.make_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    with pytest.raises(ValueError, match="TF_CONFIG must be JSON like"):
        distribute.make_strategy("multi_worker")
    with pytest.raises(ValueError, match="needs a seed"):
        vae_tf.TrainConfig(strategy="multi_worker", seed=None).validate()
    with pytest.raises(ValueError, match="strategy must be one of"):
        vae_tf.TrainConfig(strategy="parameter_server").validate()


@pytest.mark.parametrize(
    "cluster, task, chief",
    [
        ({"worker": ["a:1", "b:1"]}, ("worker", 0), True),
        ({"worker": ["a:1", "b:1"]}, ("worker", 1), False),
        ({"chief": ["c:1"], "worker": ["a:1"]}, ("chief", 0), True),
        ({"chief": ["c:1"], "worker": ["a:1"]}, ("worker", 0), False),
    ],
)
def test_the_chief_is_the_chief_task_or_else_worker_0(cluster, task, chief):
    import tensorflow as tf

    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task[0], task_id=task[1]
    )
    assert distribute.is_chief(types.SimpleNamespace(cluster_resolver=resolver)) is chief
    assert distribute.is_chief(tf.distribute.get_strategy())


@pytest.mark.slow
def test_train_script_reports_a_missing_tpu_in_one_line(tmp_path):
    result = run_python([TRAIN, "--strategy=tpu", f"--output_dir={tmp_path / 'run'}"])
    assert result.returncode == 2
    assert "train.py: error: strategy 'tpu' found no TPU" in result.stderr
    assert "Traceback" not in result.stderr
    assert not os.listdir(tmp_path)


if __name__ == "__main__":
    if sys.argv[1:] == ["mirrored"]:
        _check_mirrored_matches_one_device()
