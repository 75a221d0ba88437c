"""Training speed by execution mode and by model variant, and the latent grid's decoding time.

The figures behind docs/benchmarks.md and docs/speed.md; `scripts/benchmark.py`
prints them. Every Keras mode trains the model of `vae_tf.train` on its
`tf.data` pipeline, through `model.fit`. The modes are timed in turns (one
repeat of each, then the next round), so that a busy moment of a shared
machine weighs on all of them alike; compare ratios taken within one run, not
figures from different runs.

`measure_variants` times model variants (any `TrainConfig` settings, built
by `vae_tf.runs.build_model` as train.py builds them) beside the plain VAE in
the default mode, in turns, on the same batches.

Example:

```python
results = measure_training(["eager", "graph"], steps=20, repeats=3)
print(training_table(results))
variants = parse_variants("posterior=iaf,flow_steps=4;prior=vamp")
print(variants_table(measure_variants(variants, "mlp", latent_dim=50, steps=20)))
```
"""

import contextlib
import dataclasses
import difflib
import importlib.util
import os
import platform
import re
import statistics
import time
import typing
from typing import List

import keras
import numpy as np
import tensorflow as tf
from absl import app
from absl import flags

from vae_tf import cli
from vae_tf import data
from vae_tf import plotting
from vae_tf.models.architectures import build_encoder_decoder
from vae_tf.runs import TrainConfig
from vae_tf.runs import build_model

MODES = ("eager", "graph", "jit", "steps_per_execution", "mixed_precision", "pytorch")
BASELINE = "eager"
# train.py's mode, which the goals are about.
DEFAULT_MODE = "steps_per_execution"
# The ceiling's row: the encoder and decoder alone, timed in turns with the modes.
CEILING = "networks"


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
    """`run(steps) -> seconds` of `steps` training steps in `fit`, as in an epoch.

    A timing is the steps of a `fit` of one compiled call more, from the end
    of its first call (see `_StepTimer`): it leaves out what `fit` does once
    per call of `fit`, which an epoch of 469 steps pays once.
    """
    model = build_model(config)
    dataset = data.make_dataset(
        images, batch_size=config.batch_size, shuffle=True, seed=config.seed
    ).repeat()
    return lambda steps: timed_steps(model, dataset, steps)[0]


def timed_steps(model, dataset, steps):
    """`(seconds, cpu_seconds)` of `steps` training steps of `model.fit` on a repeated `dataset`.

    Fits `steps` steps and one compiled call more, and times from the end of
    that first call (see `_StepTimer`). `steps` must be whole calls.
    """
    if steps % model.steps_per_execution:
        raise ValueError(
            f"steps ({steps}) must be a multiple of the model's steps_per_execution "
            f"({model.steps_per_execution}): fit runs whole calls."
        )
    timer = _StepTimer()
    model.fit(
        dataset,
        epochs=1,
        steps_per_epoch=steps + model.steps_per_execution,
        shuffle=False,
        verbose=0,
        callbacks=[timer],
    )
    return timer.seconds, timer.cpu_seconds


def _networks_runner(architecture, latent_dim, batch_size):
    """`run(steps) -> seconds` of the encoder and decoder alone, forward and backward, in float32.

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

    def run(steps):
        start = time.perf_counter()
        passes(tf.constant(steps)).numpy()
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
    ceiling=True,
):
    """Training images per second of each mode, measured in turns.

    Each mode first runs `steps` steps untimed (tracing, caches), then
    `repeats` rounds time every mode for `steps` steps: the steps inside
    `fit`, as in an epoch, without what `fit` does once per call (see
    `_keras_runner`). With `ceiling`, the encoder and decoder alone (the
    `CEILING` row) are timed in the same turns, so that the modes' share of
    it is measured under the same conditions.

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
        ceiling: Times the networks alone too (the last result).

    Returns:
        A list of `SpeedResult`, in the order of `modes`, then the ceiling's.
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
    if ceiling:
        setting = "encoder and decoder alone, forward and backward, float32 (the ceiling)"
        results.append(SpeedResult(CEILING, setting, steps, batch_size))
        runners[CEILING] = _networks_runner(architecture, latent_dim, batch_size)
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

    One timing of the ceiling that `measure_training` times in turns with the modes.
    """
    return steps * batch_size / _networks_runner(architecture, latent_dim, batch_size)(steps)


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
    """A Markdown table of `results`: images/s, the ratio to eager, the share of the ceiling."""
    speeds = {result.mode: result.images_per_second for result in results}
    baseline, ceiling = speeds.get(BASELINE), speeds.get(CEILING)
    lines = [
        f"| mode | setting | images/s | x {BASELINE} | of the ceiling |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for result in results:
        speed = result.images_per_second
        if speed is None:
            lines.append(f"| {result.mode} | {result.setting} | skipped: {result.note} | | |")
            continue
        ratio = f"{speed / baseline:.2f}" if baseline else ""
        share = f"{speed / ceiling:.0%}" if ceiling and result.mode != "pytorch" else ""
        lines.append(f"| {result.mode} | {result.setting} | {speed:,.0f} | {ratio} | {share} |")
    return "\n".join(lines)


def summary(results):
    """Lines: the fastest Keras mode against eager and PyTorch; train.py's against the ceiling."""
    speeds = {
        result.mode: result.images_per_second
        for result in results
        if result.images_per_second is not None
    }
    keras_modes = [mode for mode in speeds if mode not in (BASELINE, "pytorch", CEILING)]
    if not keras_modes:
        return ""
    fastest = max(keras_modes, key=speeds.get)
    parts = [f"Fastest Keras mode: {fastest}, {speeds[fastest]:,.0f} images/s"]
    for other in (BASELINE, "pytorch"):
        if other in speeds:
            parts.append(f"{speeds[fastest] / speeds[other]:.2f}x {other}")
    lines = ["; ".join(parts)]
    if DEFAULT_MODE in speeds:
        default = speeds[DEFAULT_MODE]
        parts = [f"train.py's mode ({DEFAULT_MODE}, float32): {default:,.0f} images/s"]
        if CEILING in speeds:
            parts.append(f"{default / speeds[CEILING]:.0%} of the networks alone")
        if "pytorch" in speeds:
            parts.append(f"{default / speeds['pytorch']:.2f}x pytorch")
        lines.append("; ".join(parts))
    return "\n".join(lines)


# -- model variants -----------------------------------------------------------

# The train.py flags that scripts/benchmark.py also takes, as the settings of
# one variant to time beside the plain VAE (`--posterior=iaf --flow_steps=4`):
# those of them that `TrainConfig` has (`variant_flag_names`).
VARIANT_FLAGS = (
    "model",
    "objective",
    "num_samples",
    "prior",
    "posterior",
    "flow_steps",
    "stochastic_layers",
    "decoder",
)
# Settings of the data or of the run rather than of the model: every variant
# is timed in this process on the same batches of MNIST.
RUN_SETTINGS = (
    "dataset",
    "data_dir",
    "image_size",
    "channels",
    "validation_split",
    "cache",
    "bad_images",
    "batch_size",
    "binarize",
    "train_on_all",
    "epochs",
    "steps_per_epoch",
    "checkpoint_steps",
    "strategy",
    "deterministic",
    "output_dir",
)
PLAIN = "plain VAE"

_SETTINGS = {field.name: field for field in dataclasses.fields(TrainConfig)}


def variant_flag_names():
    """The names of `VARIANT_FLAGS` that `TrainConfig` has (the registry decides)."""
    return tuple(name for name in VARIANT_FLAGS if name in _SETTINGS)


def define_variant_flags(flag_values=flags.FLAGS):
    """Defines train.py's flags of `variant_flag_names()`: their help, bounds and checks."""
    names = variant_flag_names()
    cli.define_train_flags(
        exclude=[name for name in _SETTINGS if name not in names], flag_values=flag_values
    )


def flag_variant(flag_values=flags.FLAGS):
    """The settings of the variant flags given on the command line, `{}` for none.

    Read as `parse_variants` reads them (enum words become the settings' values).
    """
    return {
        name: parse_setting(name, str(flag_values[name].value))
        for name in variant_flag_names()
        if name in flag_values and flag_values[name].present
    }


def _check_name(name):
    """Refuses a name that is no setting, or a setting of the data or the run."""
    if name not in _SETTINGS:
        close = difflib.get_close_matches(name, _SETTINGS, n=3)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise ValueError(
            f"unknown setting {name!r}{hint}: the settings are train.py's flags (docs/flags.md)."
        )
    if name in RUN_SETTINGS:
        raise ValueError(
            f"{name} is a setting of the data or the run, not of the model: every variant is "
            "timed on the same batches of MNIST (--batch_size sets them all), so leave it out."
        )


def parse_setting(name, text):
    """The value of the `TrainConfig` setting `name` written as `text`.

    Read as train.py reads its flag `--name` (ints, floats, booleans, enum
    words; `None` for a setting that may be None), and checked by the
    setting's own bounds.

    Raises:
        ValueError: for an unknown setting (naming close ones), a setting of
            the data or the run (`RUN_SETTINGS`), or a value it refuses.
    """
    _check_name(name)
    field = _SETTINGS[name]
    if text.lower() == "none" and type(None) in (type(field.default), *typing.get_args(field.type)):
        return None
    try:
        (value,) = cli.setting_values(name, [text])
    except app.UsageError as error:
        message = str(error).removeprefix("--values: ")
        choices = getattr(TrainConfig.check(name), "choices", None)
        if choices and ": " not in message:
            message += f"; choose from {', '.join(map(str, choices))}"
        raise ValueError(message) from None
    return value


def describe_variant(settings):
    """`"posterior=iaf, flow_steps=4"`, or `PLAIN` for no settings."""
    return ", ".join(f"{name}={value}" for name, value in settings.items()) or PLAIN


def parse_variants(text):
    """The variants of `text`: `;` between variants, `,` between a variant's `name=value`.

    Example:

    >>> parse_variants("posterior=iaf,flow_steps=4;prior=vamp")
    [{'posterior': 'iaf', 'flow_steps': 4}, {'prior': 'vamp'}]

    Raises:
        ValueError: naming the variant and what is wrong with it (see
            `parse_setting`).
    """
    variants = []
    for number, part in enumerate(text.split(";"), 1):
        settings = {}
        for item in filter(None, (item.strip() for item in part.split(","))):
            name, equals, value = item.partition("=")
            name = name.strip().removeprefix("--")
            try:
                if not equals:
                    raise ValueError(f"{item!r} is not name=value")
                if name in settings:
                    raise ValueError(f"{name} is given twice")
                settings[name] = parse_setting(name, value.strip())
            except ValueError as error:
                raise ValueError(f"variant {number} ({part.strip()}): {error}") from None
        if settings:
            variants.append(settings)
    if not variants:
        raise ValueError(
            f"No variant in {text!r}: write name=value settings, ',' between the settings of "
            "a variant, ';' between variants (posterior=iaf,flow_steps=4;prior=vamp)."
        )
    return variants


def variant_config(settings, base):
    """The validated `TrainConfig` of `base` with a variant's `settings`.

    Raises:
        ValueError: the registry's own message for a combination it refuses,
            after the variant's settings.
    """
    try:
        for name in settings:
            _check_name(name)
        config = dataclasses.replace(base, **settings)
        config.validate()
    except ValueError as error:
        raise ValueError(f"variant ({describe_variant(settings)}): {error}") from None
    return config


def variant_configs(variants, architecture="conv", latent_dim=2, batch_size=128, steps=20):
    """The validated `TrainConfig`s of the plain VAE and of each variant, in that order.

    The plain VAE's is train.py's of `architecture`, `latent_dim`,
    `batch_size` and epochs of `steps` steps (which sets its steps per
    compiled call); a variant's is that with its settings.

    Raises:
        ValueError: for a variant the registry refuses (see `variant_config`).
    """
    base = TrainConfig(
        architecture=architecture,
        latent_dim=latent_dim,
        batch_size=batch_size,
        seed=0,
        steps_per_epoch=steps,  # train.py's compiled calls tile the timed steps
    )
    base.validate()
    return [base, *(variant_config(settings, base) for settings in variants)]


class _StepTimer(keras.callbacks.Callback):
    """`seconds` and `cpu_seconds`: from the end of a fit's first compiled call to its last.

    `cpu_seconds` is the process's CPU time (all its threads) over the same
    span: the work done, which other programs on the machine hardly change.

    It leaves out what `fit` does once per call of `fit` (the data iterator,
    the callbacks, finishing the optimizer) and its first compiled call,
    which waits for the input pipeline to start (its first pass's
    permutation, its threads): measured here, about 0.1 s per `fit`, as much
    as ten steps of the mlp; once per epoch of 469 steps in training, but
    most of a timing of 20 steps. Fit for one call more than you time.
    """

    def on_train_begin(self, logs=None):
        self._start = None

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter(), time.process_time()
        if self._start is None:
            self._start = now
        self.seconds, self.cpu_seconds = (end - start for end, start in zip(now, self._start))


@contextlib.contextmanager
def _tracing_quietly():
    """Hides TensorFlow's warning of frequent tracing while the models trace their steps.

    Each model traces its own step once, but TensorFlow counts the tracings
    of every model's copy of Keras' step function together and warns of
    "retracing" from the fifth model on.
    """
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


@dataclasses.dataclass
class VariantResult:
    """Training speed of one variant, and of the plain VAE timed in turns with it."""

    settings: dict
    steps: int
    batch_size: int
    steps_per_execution: int
    parameters: int
    seconds: List[float] = dataclasses.field(default_factory=list)
    cpu_seconds: List[float] = dataclasses.field(default_factory=list)
    plain_seconds: List[float] = dataclasses.field(default_factory=list)
    plain_cpu_seconds: List[float] = dataclasses.field(default_factory=list)

    @property
    def name(self):
        """Its settings, `"posterior=iaf, flow_steps=4"`, or `PLAIN`."""
        return describe_variant(self.settings)

    @property
    def images_per_second(self):
        """Median over the rounds."""
        return self.steps * self.batch_size / statistics.median(self.seconds)

    @property
    def cost(self):
        """Its median step time over the plain VAE's: what an epoch costs beside the plain VAE's.

        The ratio of the medians, as the table's images/s show it (a median
        of the rounds' ratios, tried first, swung more on the shared 2-core
        machine: one slow timing on either side spoils a round's ratio).
        """
        return statistics.median(self.seconds) / statistics.median(self.plain_seconds)

    @property
    def cpu_cost(self):
        """Its median CPU time per step over the plain VAE's.

        The work of a step against the plain VAE's. On a machine shared with
        other programs it is far steadier than `cost` (on the 2-core machine
        beside a training, the mlp's step took 9.7-23.9 ms of wall time and
        11.3-12.8 ms of CPU time in 7 timings); on an idle machine, a step
        of small sequential ops (a flow) can cost more wall time than its
        share of CPU time shows.
        """
        return statistics.median(self.cpu_seconds) / statistics.median(self.plain_cpu_seconds)


def _trained_parameters(model):
    """Weights the step trains: the model's, and its auxiliary networks' (a discriminator)."""
    weights = list(model.trainable_weights)
    for network, _ in model.auxiliary_networks().values():
        weights += network.trainable_weights
    return sum(int(np.prod(weight.shape)) for weight in weights)


def measure_variants(
    variants,
    architecture="conv",
    latent_dim=2,
    batch_size=128,
    steps=20,
    repeats=3,
    images=None,
    labels=None,
    binarize=True,
    log=None,
):
    """Training images per second of model variants beside the plain VAE, in turns.

    Every variant is `vae_tf.runs.build_model` of the plain VAE's
    `TrainConfig` with its settings (so any setting of the registry works),
    compiled as train.py compiles it: the compiled step, `steps_per_execution`
    as train.py runs `steps` steps (its default 10 when `steps` is a multiple
    of 10), `dataset_size` set to the images' count. All take the same
    batches. Each first runs `steps` steps untimed (tracing), then `repeats`
    rounds time them all, the plain VAE included, in alternating order. A
    timing is `steps` steps inside a `fit` of one compiled call more: it
    leaves out `fit`'s own set-up and its first call, which waits for the
    input pipeline to start (see `_StepTimer`).

    Args:
        variants: `TrainConfig` settings per variant, `[{"posterior": "iaf",
            "flow_steps": 4}, ...]` (see `parse_variants`).
        architecture, latent_dim, batch_size: The plain VAE and the batch.
        steps: Training steps per timing.
        repeats: Timings per variant; the median counts.
        images, labels: Training images and labels (labels for conditional
            variants); default the bundled MNIST training set.
        binarize: Dynamic binarization of the images.
        log: Optional `print`-like function for progress.

    Returns:
        A list of `VariantResult`, the plain VAE's first.

    Raises:
        ValueError: for a variant the registry refuses (its message), before
            anything is timed.
    """
    for name, value in (("steps", steps), ("repeats", repeats)):
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}.")
    variants = [{}, *(dict(settings) for settings in variants)]
    configs = variant_configs(variants[1:], architecture, latent_dim, batch_size, steps)
    if images is None:
        images, labels = data.load_mnist()[0]
    if labels is None and any(config.conditional for config in configs):
        raise ValueError("A conditional variant needs labels: pass labels with the images.")
    dataset = data.make_dataset(
        images, labels, batch_size=batch_size, shuffle=True, binarize=binarize, seed=0
    ).repeat()
    log = log or (lambda message: None)
    results, runners = [], []
    for settings, config in zip(variants, configs):
        model = build_model(config)
        model.dataset_size = len(images)

        def run(model=model):
            return timed_steps(model, dataset, steps)

        result = VariantResult(settings, steps, batch_size, model.steps_per_execution, parameters=0)
        log(f"warming up {result.name}")
        with _tracing_quietly():
            run()
        result.parameters = _trained_parameters(model)
        results.append(result)
        runners.append(run)
    for repeat in range(repeats):
        order = range(len(results)) if repeat % 2 == 0 else reversed(range(len(results)))
        for index in order:
            seconds, cpu_seconds = runners[index]()
            results[index].seconds.append(seconds)
            results[index].cpu_seconds.append(cpu_seconds)
            log(
                f"round {repeat + 1}/{repeats}: {results[index].name} "
                f"{steps * batch_size / results[index].seconds[-1]:,.0f} images/s"
            )
    for result in results:
        result.plain_seconds = list(results[0].seconds)
        result.plain_cpu_seconds = list(results[0].cpu_seconds)
    return results


def variants_table(results):
    """A Markdown table of `measure_variants`' results: images/s, costs, parameters."""
    usual = results[0].steps_per_execution
    lines = [
        f"| variant | images/s | step time x {PLAIN} | CPU time x {PLAIN} | parameters |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        name = result.name
        if result.steps_per_execution != usual:
            calls = result.steps_per_execution
            name += f" ({calls} step{'s' if calls > 1 else ''} per call)"
        lines.append(
            f"| {name} | {result.images_per_second:,.0f} | {result.cost:.2f}x | "
            f"{result.cpu_cost:.2f}x | {result.parameters:,} |"
        )
    return "\n".join(lines)
