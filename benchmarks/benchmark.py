"""Training speed by execution mode, and the latent grid's decoding time.

The figures behind docs/benchmarks.md; `scripts/benchmark.py` prints them.
Every Keras mode trains the model of `vae_tf.train` on its `tf.data`
pipeline, through `model.fit`. The modes are timed in turns (one repeat of
each, then the next round), so that a busy moment of a shared machine weighs
on all of them alike; compare ratios taken within one run, not figures from
different runs.

Example:

```python
results = measure_training(["eager", "graph"], steps=20, repeats=3)
print(training_table(results))
```
"""

import dataclasses
import importlib.util
import os
import platform
import re
import statistics
import time
from typing import List

import keras
import numpy as np
import tensorflow as tf

from vae_tf import data
from vae_tf import plotting
from vae_tf.models.architectures import build_encoder_decoder
from vae_tf.runs import TrainConfig
from vae_tf.runs import build_model

MODES = ("eager", "graph", "jit", "steps_per_execution", "mixed_precision", "pytorch")
BASELINE = "eager"


@dataclasses.dataclass
class SpeedResult:
    """Training speed of one mode: `seconds` of `steps` steps, once per repeat.

    `seconds` is empty when the mode could not run here; `note` says why.
    """

    mode: str
    setting: str
    steps: int
    batch_size: int
    seconds: List[float] = dataclasses.field(default_factory=list)
    note: str = ""

    @property
    def images_per_second(self):
        """Median over the repeats; None when the mode was skipped."""
        if not self.seconds:
            return None
        return self.steps * self.batch_size / statistics.median(self.seconds)


def _cpu_has_bfloat16():
    try:
        with open("/proc/cpuinfo") as f:
            return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", f.read()))
    except OSError:
        return False


def mixed_precision_policy():
    """The mixed precision this machine computes natively, or None.

    `"mixed_float16"` on NVIDIA GPUs of compute capability 7.0 or more,
    `"mixed_bfloat16"` on CPUs with bfloat16 instructions (AVX512-BF16 or
    AMX; read from /proc/cpuinfo), None elsewhere (emulated, it is slower
    than float32).
    """
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
        return "mixed_float16" if capability and capability >= (7, 0) else None
    return "mixed_bfloat16" if _cpu_has_bfloat16() else None


def describe_machine():
    """One line: processor, cores, GPUs and library versions."""
    processor = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = re.findall(r"^model name\s*:\s*(.+)$", f.read(), flags=re.MULTILINE)
        processor = names[0] if names else processor
    except OSError:
        pass
    gpus = [
        tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
        for gpu in tf.config.list_physical_devices("GPU")
    ]
    parts = [
        f"{processor}, {os.cpu_count()} cores",
        ", ".join(gpus) if gpus else "no GPU",
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        f"Python {platform.python_version()}",
    ]
    if importlib.util.find_spec("torch"):
        import torch

        parts.append(f"PyTorch {torch.__version__}")
    return "; ".join(parts)


def _keras_runner(config, images):
    model = build_model(config)
    dataset = data.make_dataset(
        images, batch_size=config.batch_size, shuffle=True, seed=config.seed
    ).repeat()

    def run(steps):
        start = time.perf_counter()
        model.fit(dataset, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
        return time.perf_counter() - start

    return run


def _mode(mode, base, steps_per_execution, images):
    """`(setting, runner or None, note)` of a mode."""
    graph = dataclasses.replace(base, run_eagerly=False, jit_compile=False, steps_per_execution=1)
    if mode == "eager":
        config = dataclasses.replace(graph, run_eagerly=True)
        return "run_eagerly=True (the tutorial's mode)", _keras_runner(config, images), ""
    if mode == "graph":
        return "tf.function, 1 step per call", _keras_runner(graph, images), ""
    if mode == "jit":
        config = dataclasses.replace(graph, jit_compile=True)
        return "tf.function + XLA (jit_compile=True)", _keras_runner(config, images), ""
    fused = dataclasses.replace(graph, steps_per_execution=steps_per_execution)
    if mode == "steps_per_execution":
        setting = f"tf.function, {steps_per_execution} steps per call"
        return setting, _keras_runner(fused, images), ""
    if mode == "mixed_precision":
        policy = mixed_precision_policy()
        if policy is None:
            return "mixed precision", None, "no float16 GPU or bfloat16 CPU here"
        config = dataclasses.replace(fused, mixed_precision=policy)
        setting = f"{policy}, {steps_per_execution} steps per call"
        return setting, _keras_runner(config, images), ""
    if mode == "pytorch":
        if not importlib.util.find_spec("torch"):
            return "PyTorch", None, "torch is not installed (pip install torch to compare)"
        import torch

        from benchmarks import torch_reference

        if base.architecture not in torch_reference.MODELS:
            return "PyTorch", None, f"no PyTorch equivalent of {base.architecture!r}"
        runner = torch_reference.make_runner(
            images, base.architecture, base.latent_dim, base.batch_size, seed=base.seed
        )
        return f"PyTorch {torch.__version__}, eager, same model", runner, ""
    raise ValueError(f"mode must be one of {MODES}; got {mode!r}.")


def measure_training(
    modes=MODES,
    architecture="conv",
    latent_dim=2,
    batch_size=128,
    steps=50,
    repeats=3,
    steps_per_execution=10,
    images=None,
    log=None,
):
    """Training images per second of each mode, measured in turns.

    Each mode first runs `steps` steps untimed (tracing, caches), then
    `repeats` rounds time every mode for `steps` steps.

    Args:
        modes: Some of `MODES`: `"eager"` (run_eagerly=True, the baseline),
            `"graph"` (compiled step), `"jit"` (XLA), `"steps_per_execution"`
            (several steps per compiled call), `"mixed_precision"` (that
            with `mixed_precision_policy()`; skipped where there is none),
            `"pytorch"` (the same model in PyTorch; skipped without torch).
        architecture, latent_dim, batch_size: The model and batch measured.
        steps: Training steps per timing.
        repeats: Timings per mode; the median counts.
        steps_per_execution: Steps per call of the fused modes.
        images: Training images; default the bundled MNIST training set.
        log: Optional `print`-like function for progress.

    Returns:
        A list of `SpeedResult`, in the order of `modes`.
    """
    for name, value in (("steps", steps), ("repeats", repeats)):
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}.")
    fused = {"steps_per_execution", "mixed_precision"} & set(modes)
    if mixed_precision_policy() is None:
        fused.discard("mixed_precision")  # skipped: nothing to time
    if fused and steps % steps_per_execution:
        # Keras runs whole calls: the last one would overrun the timed steps.
        raise ValueError(
            f"steps ({steps}) must be a multiple of steps_per_execution "
            f"({steps_per_execution}) to time the modes {sorted(fused)}."
        )
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown:
        raise ValueError(f"Unknown mode(s) {unknown}; choose from {MODES}.")
    if images is None:
        images = data.load_mnist()[0][0]
    base = TrainConfig(
        architecture=architecture, latent_dim=latent_dim, batch_size=batch_size, seed=0
    )
    base.validate()
    log = log or (lambda message: None)
    results, runners = [], {}
    for mode in modes:
        setting, runner, note = _mode(mode, base, steps_per_execution, images)
        results.append(SpeedResult(mode, setting, steps, batch_size, note=note))
        if runner is not None:
            log(f"warming up {mode}")
            runner(steps)
            runners[mode] = runner
    for repeat in range(repeats):
        for result in results:
            if result.mode in runners:
                result.seconds.append(runners[result.mode](steps))
                log(
                    f"round {repeat + 1}/{repeats}: {result.mode} "
                    f"{steps * batch_size / result.seconds[-1]:,.0f} images/s"
                )
    return results


def pipeline_images_per_second(images=None, batch_size=128, steps=200):
    """Images per second the training `tf.data` pipeline delivers on its own."""
    if images is None:
        images = data.load_mnist()[0][0]
    iterator = iter(data.make_dataset(images, batch_size=batch_size, shuffle=True, seed=0).repeat())
    next(iterator)
    start = time.perf_counter()
    for _ in range(steps):
        next(iterator)
    return steps * batch_size / (time.perf_counter() - start)


def networks_images_per_second(architecture="conv", latent_dim=2, batch_size=128, steps=50):
    """Images per second of the encoder and decoder alone, forward and backward, in float32.

    No loss, no optimizer, no input pipeline, no Python per step (one
    compiled loop): the ceiling of any float32 training mode on this device.
    """
    encoder, decoder = build_encoder_decoder(architecture, latent_dim)
    weights = encoder.trainable_weights + decoder.trainable_weights
    images = tf.random.uniform((batch_size, *encoder.inputs[0].shape[1:]), seed=0)

    @tf.function
    def passes(count):
        checksum = tf.constant(0.0)  # consumes the gradients, or graph pruning drops them
        for _ in tf.range(count):
            with tf.GradientTape() as tape:
                z_mean, z_log_var = encoder(images, training=True)
                total = tf.reduce_sum(decoder(z_mean + z_log_var, training=True))
            gradients = tape.gradient(total, weights)
            checksum += tf.add_n([tf.reduce_sum(gradient) for gradient in gradients])
        return checksum

    passes(tf.constant(2))
    start = time.perf_counter()
    passes(tf.constant(steps))
    return steps * batch_size / (time.perf_counter() - start)


def latent_grid_seconds(model, grid_size=30):
    """`(single, batched)`: seconds to decode a `grid_size` x `grid_size` latent grid.

    `single` calls `decoder.predict` once per point, as the keras.io example
    draws its grid; `batched` is the one call `latent_grid_figure` makes.
    """
    if model.latent_dim != 2:
        raise ValueError(f"The latent grid needs a 2-D latent space; got {model.latent_dim}.")
    z = plotting.latent_grid_coordinates(grid_size)
    start = time.perf_counter()
    for point in z:
        model.decoder.predict(point[np.newaxis], verbose=0)
    single = time.perf_counter() - start
    start = time.perf_counter()
    keras.ops.convert_to_numpy(model.decode(z))
    return single, time.perf_counter() - start


def training_table(results):
    """A Markdown table of `results`: images/s and the ratio to the eager baseline."""
    speeds = {result.mode: result.images_per_second for result in results}
    baseline = speeds.get(BASELINE)
    lines = [
        f"| mode | setting | images/s | x {BASELINE} |",
        "| --- | --- | ---: | ---: |",
    ]
    for result in results:
        speed = result.images_per_second
        if speed is None:
            lines.append(f"| {result.mode} | {result.setting} | skipped: {result.note} | |")
            continue
        ratio = f"{speed / baseline:.2f}" if baseline else ""
        lines.append(f"| {result.mode} | {result.setting} | {speed:,.0f} | {ratio} |")
    return "\n".join(lines)


def summary(results):
    """One line: the fastest Keras mode against the eager baseline and PyTorch."""
    speeds = {
        result.mode: result.images_per_second
        for result in results
        if result.images_per_second is not None
    }
    keras_modes = [mode for mode in speeds if mode not in (BASELINE, "pytorch")]
    if not keras_modes:
        return ""
    fastest = max(keras_modes, key=speeds.get)
    parts = [f"Fastest Keras mode: {fastest}, {speeds[fastest]:,.0f} images/s"]
    for other in (BASELINE, "pytorch"):
        if other in speeds:
            parts.append(f"{speeds[fastest] / speeds[other]:.2f}x {other}")
    return "; ".join(parts)
