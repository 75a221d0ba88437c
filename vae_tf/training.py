"""One `train(config)` for scripts and notebooks: build, compile, fit, write the run.

Example:

```python
result = train(TrainConfig(latent_dim=2, epochs=30))
result.model.decode([[0.0, 0.0]])
print(result.run_dir)        # config.json, history.csv, vae.keras, ...
```
"""

import csv
import dataclasses
import datetime
import importlib.util
import json
import math
import numbers
import os
import shutil
import tempfile
import time
import warnings
from typing import Optional, Union

import keras
import tensorflow as tf
from absl import logging

import vae_tf
from vae_tf import data
from vae_tf import distribute
from vae_tf import plotting
from vae_tf._checks import check_positive_int
from vae_tf._files import atomic_path
from vae_tf.architectures import PRESETS
from vae_tf.architectures import build_encoder_decoder
from vae_tf.architectures import check_architecture
from vae_tf.export import export_saved_model
from vae_tf.image_folder import BAD_IMAGES
from vae_tf.image_folder import ImageFolder
from vae_tf.callbacks import CyclicalKLAnnealing
from vae_tf.checkpointing import StopOnNonFiniteLoss
from vae_tf.checkpointing import TrainingCheckpoint
from vae_tf.checkpointing import load_training_state
from vae_tf.callbacks import KLWarmup
from vae_tf.model import LIKELIHOODS
from vae_tf.model import VAE
from vae_tf.model import Autoencoder
from vae_tf.run_directory import RunDirectory
from vae_tf.run_directory import find_interrupted

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run.

    Attributes:
        latent_dim: Size of the latent code.
        architecture: Encoder/decoder preset, one of `vae_tf.PRESETS`.
        dataset: `"mnist"` (bundled), `"fashion_mnist"` or `"cifar10"`
            (through keras.datasets), or the path of an .npz of your own
            arrays (see `vae_tf.data.load_npz`), when `data_dir` is None.
        data_dir: A folder of images to train on instead (one sub-folder
            per class gives labels); see `vae_tf.image_folder.ImageFolder`.
        image_size: Side of the square images made from `data_dir`.
        channels: 3 (RGB) or 1 (grayscale), for `data_dir`.
        validation_split: Fraction of `data_dir`'s files held out for
            validation and figures.
        cache: For `data_dir`: None (decode every epoch, flat memory),
            "memory", or a file path prefix for an on-disk cache.
        bad_images: For `data_dir`: "skip" corrupt or unreadable files (each
            reported in the log) or "raise" on the first one.
        epochs: Passes over the training set.
        batch_size: Images per step (the global batch under a strategy).
        learning_rate: Adam's learning rate.
        beta: Weight of the KL term (1 gives the true ELBO); the target of
            the KL schedules.
        kl_warmup_epochs: Linear KL warm-up from 0 to beta over this many
            epochs (0: off).
        kl_warmup_steps: The same, counted in training steps (0: off).
        kl_cycles: Cyclical KL annealing (Fu et al., 2019) with this many
            cycles over the run (0: off).
        kl_cycle_ratio: Fraction of each cycle over which the weight rises.
        free_bits: KL floor in nats per latent dimension (0: off).
        likelihood: `p(x|z)`: "auto" (bernoulli for the digit datasets
            mnist and fashion_mnist and grey .npz images, gaussian_learned for
            natural images: cifar10, folders, colour .npz images), or one of
            `vae_tf.model.LIKELIHOODS`: bernoulli, gaussian (fixed sigma),
            gaussian_learned, or mse (not a likelihood: its losses are not
            nats).
        sigma: Standard deviation of the Gaussian likelihoods (the start
            value when learned).
        z_log_var_clip: Clip z_log_var to [-clip, clip]; None: off.
        autoencoder: Train the deterministic `Autoencoder` baseline (no
            sampling, no KL) with the same networks.
        seed: Seed of weights, shuffling, binarization and sampling; None
            draws a fresh one.
        steps_per_epoch: Cut epochs short (for quick trials); None is a full
            pass.
        train_on_all: Train on all 70,000 images as the keras.io example
            does, with no validation set.
        binarize: Dynamic binarization of the training images.
        conditional: Train a conditional VAE (Sohn et al., 2015): both
            networks see the digit's label, so z keeps only the style.
        run_eagerly: Run train_step eagerly (slow; for debugging).
        jit_compile: XLA compilation: True, False, or "auto" (Keras' choice:
            on for GPUs, off on CPU).
        steps_per_execution: Training steps per call of the compiled
            function: fewer Python round trips (KL schedules and batch-level
            callbacks then act every this many steps). Runs with a KL
            schedule (which sets the weight before every step) and runs under
            a distribution strategy (a Keras limitation) take 1; with
            steps_per_epoch, the largest divisor of it up to this value.
        mixed_precision: Keras dtype policy: "float32", "mixed_float16"
            (GPUs) or "mixed_bfloat16" (TPUs, CPUs with bfloat16
            instructions).
        strategy: `tf.distribute` strategy, one of
            `vae_tf.distribute.STRATEGIES`: "default" (one device),
            "mirrored" (all GPUs of this machine), "multi_worker" (several
            machines, from TF_CONFIG; needs a seed) or "tpu". Only the chief
            writes the run directory.
        checkpoint_steps: Checkpoint every this many training steps too (0:
            at the end of every epoch only). A crashed run resumes from its
            latest checkpoint when rerun with the same settings.
        deterministic: Bit-for-bit reproducible training (needs a seed):
            `keras.utils.set_random_seed` and TensorFlow's op determinism,
            which stays on in this process and turns XLA off. A run
            interrupted and resumed then ends with the weights of an
            uninterrupted one.
        output_dir: Run directory to create; None picks
            `runs/<architecture>_latent<d>_<timestamp>`, or resumes the
            newest interrupted run there with the same settings.
    """

    latent_dim: int = 2
    architecture: str = "conv"
    dataset: str = "mnist"
    data_dir: Optional[str] = None
    image_size: int = 64
    channels: int = 3
    validation_split: float = 0.1
    cache: Optional[str] = None
    bad_images: str = "skip"
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 1e-3
    beta: float = 1.0
    kl_warmup_epochs: int = 0
    kl_warmup_steps: int = 0
    kl_cycles: int = 0
    kl_cycle_ratio: float = 0.5
    free_bits: float = 0.0
    likelihood: str = "auto"
    sigma: float = 0.1
    z_log_var_clip: Optional[float] = None
    autoencoder: bool = False
    seed: Optional[int] = 1337
    steps_per_epoch: Optional[int] = None
    train_on_all: bool = False
    binarize: bool = False
    conditional: bool = False
    run_eagerly: bool = False
    jit_compile: Union[bool, str] = "auto"
    steps_per_execution: int = 10
    mixed_precision: str = "float32"
    strategy: str = "default"
    checkpoint_steps: int = 0
    deterministic: bool = False
    output_dir: Optional[str] = None

    def validate(self):
        """Raises ValueError naming the first invalid field and its fix."""

        for name in ("latent_dim", "epochs", "batch_size", "steps_per_execution", "image_size"):
            check_positive_int(name, getattr(self, name))
        if self.dataset not in data.DATASETS and not data.is_npz(self.dataset):
            raise ValueError(
                f"dataset must be one of {data.DATASETS} or the path of an .npz file of your "
                f"own arrays; got {self.dataset!r}."
            )
        if self.data_dir is not None:
            if self.dataset != "mnist":
                raise ValueError(
                    f"Choose dataset={self.dataset!r} or data_dir={self.data_dir!r}, not both."
                )
            if self.binarize:
                raise ValueError(
                    "binarize is for the in-memory datasets (mnist, fashion_mnist, cifar10), "
                    "not data_dir."
                )
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB); got {self.channels!r}.")
        if not 0 <= self.validation_split < 1:
            raise ValueError(
                f"validation_split must be in [0, 1); got {self.validation_split!r}."
            )
        if self.bad_images not in BAD_IMAGES:
            raise ValueError(f"bad_images must be one of {BAD_IMAGES}; got {self.bad_images!r}.")
        if self.steps_per_epoch is not None:
            check_positive_int("steps_per_epoch", self.steps_per_epoch)
        if not (isinstance(self.checkpoint_steps, numbers.Integral)
                and self.checkpoint_steps >= 0):
            raise ValueError(
                "checkpoint_steps must be an integer >= 0 (0: at the end of every epoch "
                f"only); got {self.checkpoint_steps!r}."
            )
        if self.deterministic and self.seed is None:
            raise ValueError("deterministic training needs a seed; set seed.")
        if self.architecture not in PRESETS:
            raise ValueError(
                f"architecture must be one of {sorted(PRESETS)}; got "
                f"{self.architecture!r}."
            )
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(
                f"learning_rate must be a positive number; got {self.learning_rate!r}."
            )
        for name in ("beta", "free_bits"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0; got {value!r}.")
        for name in ("kl_warmup_epochs", "kl_warmup_steps", "kl_cycles"):
            value = getattr(self, name)
            if not (isinstance(value, numbers.Integral) and value >= 0):
                raise ValueError(f"{name} must be an integer >= 0 (0: off); got {value!r}.")
        schedules = [
            name for name in ("kl_warmup_epochs", "kl_warmup_steps", "kl_cycles")
            if getattr(self, name)
        ]
        if len(schedules) > 1:
            raise ValueError(
                f"Choose one KL schedule; got {' and '.join(schedules)}. Set the others to 0."
            )
        if not 0 < self.kl_cycle_ratio <= 1:
            raise ValueError(f"kl_cycle_ratio must be in (0, 1]; got {self.kl_cycle_ratio!r}.")
        if self.likelihood not in ("auto", *LIKELIHOODS):
            raise ValueError(
                f"likelihood must be 'auto' or one of {LIKELIHOODS}; got {self.likelihood!r}."
            )
        if not (math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma must be a number > 0; got {self.sigma!r}.")
        if self.z_log_var_clip is not None and not (
            math.isfinite(self.z_log_var_clip) and self.z_log_var_clip > 0
        ):
            raise ValueError(
                f"z_log_var_clip must be None (off) or a number > 0; got {self.z_log_var_clip!r}."
            )
        if self.autoencoder:
            kl_options = schedules + [
                name for name, off in (("beta", 1.0), ("free_bits", 0.0), ("z_log_var_clip", None))
                if getattr(self, name) != off
            ]
            if kl_options:
                raise ValueError(
                    f"The autoencoder has no KL term, so {', '.join(kl_options)} cannot "
                    "apply; drop them or train a VAE."
                )
        if self.seed is not None and not (
            isinstance(self.seed, numbers.Integral) and self.seed >= 0
        ):
            raise ValueError(f"seed must be None or an integer >= 0; got {self.seed!r}.")
        if self.mixed_precision not in PRECISIONS:
            raise ValueError(
                f"mixed_precision must be one of {PRECISIONS}; got "
                f"{self.mixed_precision!r}."
            )
        if not (self.jit_compile is True or self.jit_compile is False
                or self.jit_compile == "auto"):
            raise ValueError(
                f"jit_compile must be True, False or 'auto'; got {self.jit_compile!r}."
            )
        if self.strategy not in distribute.STRATEGIES:
            raise ValueError(
                f"strategy must be one of {distribute.STRATEGIES}; got {self.strategy!r}."
            )
        if self.strategy == "multi_worker" and self.seed is None:
            raise ValueError(
                "strategy 'multi_worker' needs a seed (the same on every worker) so that "
                "all workers shuffle the data alike; set seed."
            )


@dataclasses.dataclass
class TrainResult:
    """A trained model, its history and its run directory (`train`, `load_run`)."""

    model: VAE
    history: dict
    run_dir: str


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` (wall time of the epoch, validation included) to the logs."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


def default_output_dir(config, resume=True):
    """`runs/<architecture>_latent<d>_<timestamp>`, or the newest interrupted run like `config`.

    With `resume`, rerunning a crashed command without --output_dir finds
    its run again.
    """
    prefix = os.path.join("runs", f"{config.architecture}_latent{config.latent_dim}_")
    interrupted = resume and find_interrupted(prefix + "*.partial", _settings(config))
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return interrupted or prefix + stamp


def _settings(config):
    """The run's settings as saved in its config.json."""
    return dataclasses.asdict(config)


def _steps_per_execution(config):
    """`config.steps_per_execution`, or 1 where several steps per call go wrong."""
    if config.steps_per_execution == 1 or kl_schedule(config) is not None:
        # KL schedules set the weight before every call of the compiled step.
        return 1
    if tf.distribute.has_strategy():
        # Keras 3 (3.15) fails on several steps per call under tf.distribute
        # strategies ("You must feed a value for placeholder tensor",
        # keras-team/keras#19246).
        logging.warning(
            "steps_per_execution=%d does not work under tf.distribute strategies in Keras "
            "%s (keras-team/keras#19246): one step per call.",
            config.steps_per_execution, keras.__version__,
        )
        return 1
    if config.steps_per_epoch:
        # Keras runs whole calls: one overlapping the end of a shortened
        # epoch would train past it (4 epochs of 2 steps ran 40 steps at 10
        # per call), so the calls must tile the epoch.
        return max(
            every for every in range(1, config.steps_per_execution + 1)
            if config.steps_per_epoch % every == 0
        )
    return config.steps_per_execution


def image_shape(config):
    """`(height, width, channels)` of the images `config` trains on."""
    if config.data_dir is not None:
        return (config.image_size, config.image_size, config.channels)
    return data.image_shape(config.dataset)


def likelihood(config):
    """`config.likelihood`, with "auto" resolved for its data.

    Bernoulli suits digits, whose pixels are nearly black or white; natural
    images get a Gaussian with a learned variance, a true density of
    continuous intensities.
    """
    if config.likelihood != "auto":
        return config.likelihood
    if config.data_dir is not None:
        return "gaussian_learned"
    if data.is_npz(config.dataset):
        grey = data.image_shape(config.dataset)[-1] == 1
        return "bernoulli" if grey else "gaussian_learned"
    return "bernoulli" if config.dataset in ("mnist", "fashion_mnist") else "gaussian_learned"


def image_folder(config):
    """The `ImageFolder` of `config.data_dir`, with the run's settings."""
    return ImageFolder(
        config.data_dir, config.image_size, config.channels,
        validation_split=0.0 if config.train_on_all else config.validation_split,
        bad_images=config.bad_images, cache=config.cache,
    )


def _folder_images(folder, split, count=None):
    """Decoded images of a folder: held-out ones for "test" (training ones if none are)."""
    held_out = split == "test" and len(folder.paths("validation")) > 0
    return folder.load("validation" if held_out else "train", count or 1000)


def split_images(config, split="test", count=None, arrays=None):
    """`(images, labels)` of the run's data as numpy arrays, for figures and evaluation.

    `split="test"` is the validation data (MNIST's test set; a folder's
    held-out files); `count` keeps the first ones (a folder: 1,000 by
    default, decoded now). `arrays`: the named dataset as `load_dataset`
    returns it, if already loaded.
    """
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train'; got {split!r}.")
    if config.data_dir is not None:
        return _folder_images(image_folder(config), split, count)
    (x_train, y_train), (x_test, y_test) = arrays or data.load_dataset(config.dataset)
    images, labels = (x_test, y_test) if split == "test" else (x_train, y_train)
    return images[:count], labels[:count]


def build_model(config, num_classes=None):
    """The compiled `VAE` of `config`, built under its dtype policy.

    Under a distribution strategy, call it inside `strategy.scope()`.
    `num_classes` is needed for a conditional VAE on a `data_dir` (the named
    datasets know theirs).
    """
    if config.conditional and num_classes is None:
        if config.data_dir is not None:
            raise ValueError("A conditional VAE on data_dir needs num_classes.")
        num_classes = data.num_classes(config.dataset)
        if num_classes is None:
            raise ValueError(
                f"A conditional VAE needs labels: add y_train and y_test to {config.dataset}."
            )
    num_classes = num_classes if config.conditional else None
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(config.mixed_precision)
    try:
        encoder, decoder = build_encoder_decoder(
            config.architecture, config.latent_dim, image_shape=image_shape(config),
            num_classes=num_classes, variational=not config.autoencoder,
        )
        common = dict(
            likelihood=likelihood(config), sigma=config.sigma, seed=config.seed,
            num_classes=num_classes,
        )
        if config.autoencoder:
            model = Autoencoder(encoder, decoder, **common)
        else:
            model = VAE(
                encoder, decoder, beta=config.beta, free_bits=config.free_bits,
                z_log_var_clip=config.z_log_var_clip, **common,
            )
    finally:
        keras.config.set_dtype_policy(previous_policy)
    optimizer = keras.optimizers.Adam(config.learning_rate)
    if config.mixed_precision == "mixed_float16":
        # Losses summed over pixels have gradients about 1,000 times those of
        # per-pixel means, for which Keras' initial scale 2**15 is made: from
        # there, the conv preset skipped its first 6 steps on float16
        # overflows before the dynamic scale settled at 2**9.
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=2**8)
    model.compile(
        optimizer=optimizer,
        run_eagerly=config.run_eagerly,
        jit_compile=config.jit_compile,
        steps_per_execution=_steps_per_execution(config),
    )
    return model


def kl_schedule(config):
    """The KL callback `config` asks for, or None for a constant weight."""
    if config.kl_warmup_epochs:
        return KLWarmup(config.kl_warmup_epochs, unit="epochs")
    if config.kl_warmup_steps:
        return KLWarmup(config.kl_warmup_steps, unit="steps")
    if config.kl_cycles:
        return CyclicalKLAnnealing(config.kl_cycles, config.kl_cycle_ratio)
    return None


def write_artifacts(model, history, config, run_dir, test_set):
    """Writes the run's model files, config and figures into `run_dir`.

    `test_set` is `(images, labels)`, encoded and shown in the figures.
    """
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump(
            {
                **_settings(config),
                "versions": {
                    "vae_tf": vae_tf.__version__,
                    "tensorflow": tf.__version__,
                    "keras": keras.__version__,
                },
            },
            f,
            indent=2,
        )
    model.save(os.path.join(run_dir, "vae.keras"))
    export_saved_model(model, os.path.join(run_dir, "saved_model"))
    plotting.save_model_diagram(model.encoder, os.path.join(run_dir, "encoder.png"))
    plotting.save_model_diagram(model.decoder, os.path.join(run_dir, "decoder.png"))
    images, labels = test_set
    plotting.write_figures(model, run_dir, images, labels, history, seed=config.seed or 0)


def read_history(path):
    """The per-epoch history in a `history.csv` as `{column: [floats]}`."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    # Keras' CSVLogger writes "NA" val_ columns for runs without validation.
    return {
        key: [float("nan") if row[key] == "NA" else float(row[key]) for row in rows]
        for key in (rows[0] if rows else ())
        if key != "epoch" and any(row[key] != "NA" for row in rows)
    }


def read_config(run_dir):
    """The `TrainConfig` of a run directory, from its config.json.

    Settings added after the run was written take their defaults.
    """
    with open(os.path.join(run_dir, "config.json")) as f:
        values = json.load(f)
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{key: value for key, value in values.items() if key in fields})


def load_run(run_dir):
    """Loads a run directory written by `train`: its model and history.

    Raises:
        FileNotFoundError: if `run_dir` holds no `vae.keras`.
    """
    model_path = os.path.join(run_dir, "vae.keras")
    if not os.path.isfile(model_path):
        raise FileNotFoundError(
            f"No vae.keras in {run_dir}: is it a run directory written by "
            "scripts/train.py (a finished run, not a .partial one)?"
        )
    model = keras.saving.load_model(model_path, safe_mode=True)
    history_path = os.path.join(run_dir, "history.csv")
    history = read_history(history_path) if os.path.isfile(history_path) else {}
    return TrainResult(model=model, history=history, run_dir=run_dir)


def _print_final(history, run_dir):
    def line(prefix):
        return ", ".join(
            f"{key} {history[prefix + key][-1]:.2f}"
            for key, _ in plotting.LOSS_METRICS
            if history.get(prefix + key)
        )

    print(f"Final training:   {line('')}")
    if history.get("val_total_loss"):
        print(f"Final validation: {line('val_')}")
    seconds = history.get("epoch_seconds", [])
    if seconds:
        print(f"Seconds per epoch: {sum(seconds) / len(seconds):.1f}")
    print(f"Run written to {run_dir}")


def _training_data(config):
    """`(train_from, batches_per_pass, validation or None, (test images, labels), num_classes)`.

    `train_from(epoch, batch)` is the training data of `config` from that
    position on, as an uninterrupted run sees it there (see
    `vae_tf.data.passes`).
    """
    if config.data_dir is not None:
        folder = image_folder(config)
        batches = dict(batch_size=config.batch_size, labels=config.conditional)
        held_out = len(folder.paths("validation")) > 0
        validation = folder.dataset("validation", **batches) if held_out else None
        batches_per_pass = math.ceil(len(folder.paths("train")) / config.batch_size)

        def train_pass(first_pass):
            return folder.dataset(
                "train", shuffle=True, seed=config.seed, first_pass=first_pass, **batches
            )

        test_set, num_classes = _folder_images(folder, "test"), folder.num_classes
    else:
        arrays = data.load_dataset(config.dataset)

        def datasets(first_pass):
            return data.mnist_datasets(
                batch_size=config.batch_size, train_on_all=config.train_on_all,
                binarize=config.binarize, seed=config.seed, mnist=arrays,
                labels=config.conditional, first_pass=first_pass,
            )

        train, validation = datasets(0)
        batches_per_pass = len(train)
        # Building a pipeline copies the images into a tensor (0.7 s for
        # MNIST): a fresh run trains on this first one.
        unused = {0: train}

        def train_pass(first_pass):
            built = unused.pop(first_pass, None)
            return built if built is not None else datasets(first_pass)[0]
        test_set, num_classes = arrays[1], data.num_classes(config.dataset)

    def train_from(epoch, batch=0):
        if not config.steps_per_epoch:
            return train_pass(epoch).skip(batch)
        # Shortened epochs cut across passes: one endless stream of passes,
        # entered at the run's global step.
        step = epoch * config.steps_per_epoch + batch
        stream = train_pass(step // batches_per_pass).repeat()
        return stream.skip(step % batches_per_pass)

    return train_from, batches_per_pass, validation, test_set, num_classes


def _restore(model, position, learning_rate):
    """Loads a checkpoint or a finished run's vae.keras; a resumed run may change its rate."""
    if position["from"].endswith(".keras"):
        load_training_state(model, position["from"])
    else:
        TrainingCheckpoint(position["from"], restore=False).restore(model)
    model.optimizer.learning_rate = learning_rate


def _keep_history(path, epochs):
    """Cuts `history.csv` to its first `epochs` rows (a crash may have left one more)."""
    if not os.path.isfile(path):
        return
    with open(path, newline="") as f:
        rows = f.readlines()
    with atomic_path(path) as partial, open(partial, "w", newline="") as f:
        f.writelines(rows[: epochs + 1])


def train(config, verbose="auto", resume=False, overwrite=False):
    """Trains a VAE on the data `config` names and writes its run directory.

    The run directory is filled under `<output_dir>.partial` and renamed when
    complete, so a crash never leaves a directory that looks finished. The
    run checkpoints every epoch (and every `config.checkpoint_steps` steps)
    into `<output_dir>.partial/checkpoint`; calling `train` again with the
    same settings resumes from the latest checkpoint, mid-epoch included.
    Under `config.strategy`, every worker trains; only the chief writes the
    run (and prints).

    Args:
        config: A `TrainConfig`.
        verbose: Keras' fit verbosity (0 silent, 1 progress bar, 2 one line
            per epoch); anything but 0 also prints the model summaries.
        resume: Insist on resuming: the interrupted run of
            `config.output_dir`, or its finished run, trained further up to
            `config.epochs`. Only `epochs`, `learning_rate` and
            `checkpoint_steps` may differ from the run's settings.
        overwrite: Start afresh even if `config.output_dir` holds a run (it
            is replaced once the new one is complete) or an interrupted one.

    Returns:
        A `TrainResult`.

    Raises:
        FileExistsError: `output_dir` holds a run and neither `resume` nor
            `overwrite` is set, or its interrupted run has other settings.
        FloatingPointError: the training loss became NaN or infinite; the
            last good checkpoint is kept.
    """
    config.validate()
    strategy = distribute.make_strategy(config.strategy)
    # Every worker runs the same steps, saving included (collective ops need
    # them all); the others write into a scratch directory they delete.
    chief = distribute.is_chief(strategy)
    verbose = verbose if chief else 0
    run_dir = config.output_dir or default_output_dir(config, resume=not overwrite)
    config = dataclasses.replace(config, output_dir=run_dir)
    run = RunDirectory(run_dir, _settings(config), resume, overwrite, chief=chief)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    if config.seed is not None:
        keras.utils.set_random_seed(config.seed)
    # Data and networks first: what cannot load or build leaves no run folder.
    train_from, batches_per_pass, validation_data, test_set, num_classes = _training_data(config)
    check_architecture(config.architecture, config.latent_dim, image_shape(config))
    position = run.open()
    staging = run.staging if chief else tempfile.mkdtemp(prefix="vae_tf_worker_")
    try:
        model, history = _fit(
            config, strategy, num_classes, train_from, batches_per_pass, validation_data,
            position, staging, verbose,
        )
        write_artifacts(model, history, config, staging, test_set)
    except BaseException:
        run.close()
        raise
    if chief:
        run.publish()
    else:
        shutil.rmtree(staging)
    if verbose:
        _print_final(history, run_dir)
    return TrainResult(model=model, history=history, run_dir=run_dir)


def _fit(config, strategy, num_classes, train_from, batches_per_pass, validation_data,
         position, staging, verbose):
    """Builds (or restores) the model and fits it from `position`; returns `(model, history)`."""
    with strategy.scope():
        model = build_model(config, num_classes)
    epoch, batch = 0, 0
    if position is not None:
        _restore(model, position, config.learning_rate)
        epoch, batch = position["epoch"], position["batch"]
        if verbose and epoch < config.epochs:
            done = f" and {batch} steps of epoch {epoch + 1}" if batch else ""
            epochs = f"{epoch} epoch{'' if epoch == 1 else 's'}"
            print(f"Resuming {config.output_dir}: {epochs} done{done}.")
    if verbose:
        model.encoder.summary()
        model.decoder.summary()
    history_path = os.path.join(staging, "history.csv")
    _keep_history(history_path, epoch)
    checkpoint = TrainingCheckpoint(
        os.path.join(staging, "checkpoint"), save_freq=config.checkpoint_steps or "epoch",
        restore=False,
    )
    checkpoint.first_batch = batch
    # The NaN stop comes before the checkpoint, so a bad step is never saved,
    # and the history row before it, so a checkpointed epoch has its row.
    callbacks = [
        EpochTimer(),
        StopOnNonFiniteLoss(),
        keras.callbacks.CSVLogger(history_path, append=True),
        checkpoint,
    ]
    schedule = kl_schedule(config)
    if schedule is not None:
        callbacks.append(schedule)
    if importlib.util.find_spec("tensorboard"):
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(staging, "logs")))
    elif verbose:
        print("TensorBoard is not installed: no logs/ (pip install tensorboard).")
    fit = dict(
        validation_data=validation_data, callbacks=callbacks, shuffle=False, verbose=verbose
    )
    with warnings.catch_warnings():
        # A folder's length is unknown until its first pass (skipped files do
        # not count), and Keras says "Your input ran out of data" at its end;
        # steps_per_epoch repeats the data, so nothing can run out.
        warnings.filterwarnings("ignore", "Your input ran out of data", UserWarning)
        try:
            if batch:
                # Keras starts every epoch at its first batch: the interrupted
                # epoch is finished by a fit of its remaining batches.
                steps = config.steps_per_epoch and config.steps_per_epoch - batch
                if schedule is not None:
                    schedule.finish_epoch(
                        batch, config.steps_per_epoch or batches_per_pass, config.epochs
                    )
                model.fit(train_from(epoch, batch), initial_epoch=epoch, epochs=epoch + 1,
                          steps_per_epoch=steps, **fit)
                epoch += 1
            if epoch < config.epochs:
                model.fit(train_from(epoch), initial_epoch=epoch, epochs=config.epochs,
                          steps_per_epoch=config.steps_per_epoch, **fit)
        except FloatingPointError as error:
            latest = TrainingCheckpoint.latest(checkpoint.backup_dir)
            kept = (
                f"The last good checkpoint ({latest['epoch']} epochs and {latest['batch']} "
                f"steps done) is kept in {checkpoint.backup_dir}: rerun with a lower "
                "--learning_rate to resume from it, or"
                if latest else "No checkpoint was saved before it:"
            )
            raise FloatingPointError(
                f"{error} {kept} start afresh with --overwrite (a lower --learning_rate, "
                "--z_log_var_clip, or cleaner data)."
            ) from None
    return model, read_history(history_path)
