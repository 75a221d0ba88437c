"""`tf.distribute` strategies by name, and which worker writes a run's files.

`vae_tf.train` builds its model under `make_strategy(config.strategy).scope()`;
`VAE.train_step` divides per-example losses by the GLOBAL batch size and the
`Sampler` draws independent noise on every replica, so any strategy trains the
same model as one device on the same global batch.

Example:

```python
strategy = make_strategy("mirrored")      # every local GPU (or the CPU)
with strategy.scope():
    model = vae_tf.runs.build_model(config)
model.fit(dataset)                        # batches split across replicas
if is_chief(strategy):
    model.save("vae.keras")
```
"""

import json
import os

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def _multi_worker_strategy():
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise ValueError(
            "strategy 'multi_worker' reads the cluster from the TF_CONFIG environment "
            "variable, which is not set. Set it on every worker (README, 'Several "
            "machines'), or use strategy 'mirrored' for the GPUs of one machine."
        )
    try:
        tf_config = json.loads(text)
        tf_config["cluster"], tf_config["task"]["type"], tf_config["task"]["index"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            'TF_CONFIG must be JSON like {"cluster": {"worker": ["host1:port", '
            '"host2:port"]}, "task": {"type": "worker", "index": 0}}; got '
            f"{text!r} ({type(error).__name__}: {error})."
        ) from error
    return tf.distribute.MultiWorkerMirroredStrategy()


def _tpu_strategy():
    try:
        # Finds the TPU of a TPU VM, or the one named by $TPU_NAME.
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise ValueError(
            f"strategy 'tpu' found no TPU ({error}). Run on a Cloud TPU VM, or set "
            "TPU_NAME to the TPU's name or grpc:// address."
        ) from error
    return tf.distribute.TPUStrategy(resolver)


def make_strategy(name="default"):
    """The `tf.distribute.Strategy` called `name`.

    Args:
        name: `"default"` (one device: the GPU if there is one, else the
            CPU), `"mirrored"` (synchronous data parallelism over every GPU of
            this machine; without GPUs, over its logical CPUs),
            `"multi_worker"` (the same over several machines, as the
            `TF_CONFIG` environment variable describes) or `"tpu"`.

    Raises:
        ValueError: for an unknown name, a missing or malformed TF_CONFIG, or
            no reachable TPU, saying what to do.
    """
    if name not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}; got {name!r}.")
    if name == "mirrored":
        if tf.config.list_logical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        # Without GPUs, the logical CPUs (one unless the user split the CPU).
        cpus = [device.name for device in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(cpus)
    if name == "multi_worker":
        return _multi_worker_strategy()
    if name == "tpu":
        return _tpu_strategy()
    return tf.distribute.get_strategy()


def num_workers(strategy):
    """The number of processes training together under `strategy` (1 but for multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return 1
    return sum(
        len(tasks)
        for kind, tasks in resolver.cluster_spec().as_dict().items()
        if kind in ("chief", "worker")
    )


def is_chief(strategy):
    """Whether this process writes the run's files (the others discard theirs).

    The chief is the `"chief"` task of a multi-worker cluster, or worker 0
    when the cluster names no chief; a single-process strategy is its own
    chief.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief
