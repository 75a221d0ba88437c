"""`TrainConfig`: every setting of a training run, each described and bounded once.

Each field carries its help text and its check in its metadata
(`setting(...)`): `TrainConfig.validate` runs the checks, the docstring lists
the help texts, and `vae_tf.cli` makes the absl flags (types, enums, bounds,
help) from the same fields, so flags, config and documentation never
disagree.

Example:

```python
config = TrainConfig(latent_dim=2, epochs=30, beta=4.0)
config.validate()                     # ValueError naming the first bad field
TrainConfig.describe("beta")          # its help text
```
"""

import dataclasses
import math
import numbers
import re
import shlex
import textwrap
from typing import Optional
from typing import Union

from vae_tf.data import image_folder
from vae_tf.data import registry
from vae_tf.distribute import STRATEGIES
from vae_tf.models import LIKELIHOODS
from vae_tf.models import base as model_base
from vae_tf.models.architectures import PRESETS
from vae_tf.models.registry import check_settings
from vae_tf.models.registry import get_variant
from vae_tf.models.registry import setting
from vae_tf.models.registry import variant_names
from vae_tf.models.registry import variant_settings
from vae_tf.utils.checks import Integer
from vae_tf.utils.checks import Number
from vae_tf.utils.checks import OneOf

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
JIT_COMPILE = (True, False, "auto")
# The check of the KL schedules' lengths: 0 turns the schedule off.
COUNT_OR_OFF = Integer(0, note="0: off")
# Settings a resumed run may change: they do not alter what was trained so far
# (a lower learning rate is the way on after a NaN stop; a resumed run gets its
# time budget afresh, and may keep its best epoch from then on, or stop keeping it).
RESUMABLE_CHANGES = (
    "output_dir",
    "epochs",
    "learning_rate",
    "checkpoint_steps",
    "time_limit",
    "keep_best",
    # A VQ-VAE's prior, trained after it on its codes (vae_tf.runs.code_prior).
    "prior_epochs",
)
# The units of a time_limit, in seconds.
DURATION_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_DURATION = re.compile(rf"\s*(?:{_NUMBER}\s*[dhms]\s*)+")
_DURATION_PART = re.compile(rf"({_NUMBER})\s*([dhms])")


def duration_seconds(value):
    """The seconds of a duration: `"8h"`, `"90m"`, `"1h30m"`, `"3600s"`, `"3600"` or 3600.

    Raises:
        ValueError: for anything else, or a duration that is not > 0, naming
            the forms accepted.
    """
    seconds = None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(_NUMBER, text):
            seconds = float(text)
        elif _DURATION.fullmatch(text):
            seconds = sum(
                float(number) * DURATION_UNITS[unit]
                for number, unit in _DURATION_PART.findall(text)
            )
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(
            "must be a duration greater than 0 such as 8h, 90m, 1h30m or 3600s (units d, h, "
            f"m, s), or a number of seconds such as 3600; got {value!r}."
        )
    return seconds


class _Duration:
    """The check of `time_limit`: None (no limit) or a duration `duration_seconds` reads."""

    def __call__(self, name, value):
        if value is None:
            return value
        try:
            duration_seconds(value)
        except ValueError as error:
            raise ValueError(f"{name} {error}") from None
        return value

    def flag_bounds(self):
        return {}


class _Dataset:
    """The check of `dataset`: a name registered by now, or the path of an .npz file."""

    def __call__(self, name, value):
        if not (isinstance(value, str) and registry.is_dataset(value)):
            raise ValueError(
                f"{name} must be one of {registry.names()} or the path of an .npz file of "
                f"your own arrays; got {value!r}."
            )
        return value

    def flag_bounds(self):
        return {}


class _Model:
    """The check of `model`: a name of the registry (`vae_tf.models.registry`)."""

    def __call__(self, name, value):
        if value not in variant_names():
            raise ValueError(f"{name} must be one of {variant_names()}; got {value!r}.")
        return value

    def flag_bounds(self):
        return {}


@dataclasses.dataclass
class _CommonSettings:
    """The settings of every variant; `TrainConfig` adds each variant's own."""

    latent_dim: int = setting(2, "Size of the latent code.", Integer(1))
    architecture: str = setting(
        "conv",
        "Encoder/decoder preset: conv (the keras.io example), mlp (784-400-latent), gated "
        "(gated convolutions after Tomczak & Welling), conv64 (the 64x64 RGB face VAE; use "
        "learning_rate=0.0005) or dlib64 (disentanglement_lib's 64x64 networks, for shapes "
        "and faces).",
        OneOf(tuple(sorted(PRESETS))),
    )
    dataset: str = setting(
        "mnist",
        "mnist (bundled), fashion_mnist or cifar10 (downloaded once by keras.datasets), shapes "
        "(dSprites-like 64x64 shapes with known factors, generated from a seed), faces (64x64 "
        "RGB faces drawn from 8 known factors, generated from a seed), or the "
        "path of an .npz of your own arrays (x_train, x_test; optional y_train, y_test).",
        _Dataset(),
    )
    data_dir: Optional[str] = setting(
        None,
        "Train on this folder of images instead (PNG, JPEG, GIF, BMP, searched recursively; "
        "one sub-folder per class gives labels).",
    )
    image_size: int = setting(
        64,
        "Side of the square images made from data_dir (centre crop, resize).",
        image_folder.IMAGE_SIZE,
    )
    channels: int = setting(3, "3 (RGB) or 1 (grayscale), for data_dir.", image_folder.CHANNELS)
    validation_split: float = setting(
        0.1,
        "Fraction of data_dir's files held out for validation and figures.",
        image_folder.VALIDATION_SPLIT,
    )
    cache: Optional[str] = setting(
        None,
        "For data_dir: keep the decoded images in 'memory', or in files with this path "
        "prefix; default: decode at every epoch (flat memory).",
    )
    bad_images: str = setting(
        "skip",
        "For data_dir: skip corrupt or unreadable files (each reported in the log) or raise "
        "on the first.",
        image_folder.BAD_IMAGES_CHECK,
    )
    epochs: int = setting(30, "Passes over the training set.", Integer(1))
    time_limit: Optional[Union[str, float]] = setting(
        None,
        "Wall-clock budget of the training, such as 8h, 90m, 1h30m, 3600s or a number of "
        "seconds (default: none): from the start of the training (data loading and validation "
        "included; the writing of the run's files after it not). The run stops at the end of "
        "the last epoch that fits, judged by the epoch before, and is written as a finished "
        "run (docs/crashes.md); a resumed run gets the budget afresh.",
        _Duration(),
    )
    keep_best: Optional[bool] = setting(
        None,
        "Write the weights of the epoch with the lowest val_total_loss (the validation "
        "negative ELBO) as the run's model (vae.keras, saved_model, figures), and the last "
        "epoch's as last.weights.h5 (what resume=True goes on from); default (None): on with "
        "time_limit, off otherwise. Needs validation data (not train_on_all).",
        OneOf((True, False), optional=True, description="True, False or None (on with time_limit)"),
    )
    batch_size: int = setting(
        128, "Images per step (the global batch under a strategy).", Integer(1)
    )
    learning_rate: float = setting(1e-3, "Adam learning rate.", Number(0.0, low_open=True))
    kl_warmup_epochs: int = setting(
        0,
        "KL warm-up: the KL weight grows linearly from 0 to beta over this many epochs (0: off).",
        COUNT_OR_OFF,
    )
    kl_warmup_steps: int = setting(
        0,
        "KL warm-up counted in training steps instead of epochs (0: off).",
        COUNT_OR_OFF,
    )
    kl_cycles: int = setting(
        0,
        "Cyclical KL annealing (Fu et al., 2019): this many warm-up cycles over the run (0: off).",
        COUNT_OR_OFF,
    )
    kl_cycle_ratio: float = setting(
        0.5,
        "Fraction of each KL cycle over which the weight rises, in (0, 1].",
        Number(0.0, 1.0, low_open=True),
    )
    likelihood: str = setting(
        "auto",
        "p(x|z): auto (the dataset's own: bernoulli for mnist, fashion_mnist and grey .npz "
        "images, gaussian_learned for natural images: cifar10, folders, colour .npz images), "
        "bernoulli (from logits), gaussian (fixed sigma), gaussian_learned (one learned "
        "sigma), or mse (sum of squared errors: not a likelihood, not nats).",
        OneOf(("auto", *LIKELIHOODS)),
    )
    sigma: float = setting(
        0.1,
        "Standard deviation of the Gaussian likelihoods (start value when learned).",
        model_base.SIGMA,
    )
    model: str = setting(
        "vae",
        "The model to train, by its name in the registry: "
        + "; ".join(f"{name} ({get_variant(name).description})" for name in variant_names())
        + ". Each takes its own settings (docs/flags.md).",
        _Model(),
    )
    autoencoder: bool = setting(
        False, "The same as model=autoencoder (the spelling of vae_tf 0.1)."
    )
    seed: Optional[int] = setting(
        1337,
        "Seed of weights, shuffling, binarization and sampling; None draws a fresh one.",
        Integer(0, optional=True),
    )
    steps_per_epoch: Optional[int] = setting(
        None,
        "Cut each epoch to this many steps (quick trials); default: a full pass.",
        Integer(1, optional=True),
    )
    train_on_all: bool = setting(
        False, "Train on all 70,000 images like the keras.io example (no validation set)."
    )
    binarize: bool = setting(
        False,
        "Dynamic binarization: resample every pixel as 0/1 with its grey level as "
        "probability at every epoch.",
    )
    conditional: bool = setting(
        False,
        "Conditional VAE (Sohn et al., 2015): encoder and decoder see the image's label; z "
        "keeps the style.",
    )
    run_eagerly: bool = setting(False, "Run eagerly (slow; for debugging).")
    jit_compile: Union[bool, str] = setting(
        "auto",
        "XLA compilation: true, false, or auto (Keras decides: on for GPUs, off on CPU).",
        OneOf(JIT_COMPILE, description="True, False or 'auto'"),
    )
    steps_per_execution: int = setting(
        10,
        "Training steps per call of the compiled function (fewer Python round trips); runs "
        "under a distribution strategy take 1; with steps_per_epoch, the largest divisor of "
        "it up to this value.",
        Integer(1),
    )
    mixed_precision: str = setting(
        "float32",
        "Keras dtype policy: mixed_float16 for GPUs, mixed_bfloat16 for TPUs and CPUs with "
        "bfloat16 instructions.",
        OneOf(PRECISIONS),
    )
    strategy: str = setting(
        "default",
        "tf.distribute strategy: default (one device), mirrored (every GPU of this machine), "
        "multi_worker (machines listed in TF_CONFIG; needs a seed) or tpu. Only the chief "
        "writes the run directory.",
        OneOf(STRATEGIES),
    )
    checkpoint_steps: int = setting(
        0,
        "Checkpoint every this many training steps too (0: at every epoch's end only); a "
        "crashed run resumes from its latest checkpoint when rerun.",
        Integer(0, note="0: at the end of every epoch only"),
    )
    deterministic: bool = setting(
        False,
        "Bit-for-bit reproducible training (TensorFlow op determinism, which stays on in this "
        "process; no XLA; needs a seed): a resumed run ends with the weights of an "
        "uninterrupted one.",
    )
    output_dir: Optional[str] = setting(
        None,
        "Run directory to create (must not exist, or be empty); default "
        "runs/<architecture>_latent<d>_<time>, or the newest interrupted run there with the "
        "same settings.",
    )


class _Methods:
    @classmethod
    def describe(cls, name):
        """The help text of the setting `name`."""
        return _FIELDS[name].metadata["help"]

    @classmethod
    def check(cls, name):
        """The check of the setting `name` (see `vae_tf.utils.checks`), or None."""
        return _FIELDS[name].metadata["check"]

    def __post_init__(self):
        # --autoencoder is --model=autoencoder: both spellings give the same
        # settings, so a run made with either resumes with either.
        if self.autoencoder and self.model == "vae":
            self.model = "autoencoder"
        if self.model == "autoencoder":
            self.autoencoder = True

    @property
    def variant(self):
        """The registry's entry of `model` (`vae_tf.models.registry.Variant`)."""
        return get_variant(self.model)

    def validate(self):
        """Raises ValueError naming the first invalid field and its fix."""
        for field in dataclasses.fields(self):
            check = field.metadata["check"]
            if check is not None:
                check(field.name, getattr(self, field.name))
            elif field.type is bool and not isinstance(getattr(self, field.name), bool):
                raise ValueError(
                    f"{field.name} must be True or False; got {getattr(self, field.name)!r}."
                )
        if self.autoencoder and self.model != "autoencoder":
            raise ValueError(
                f"autoencoder=True is model='autoencoder'; got model={self.model!r} too: "
                "choose one."
            )
        self._validate_combinations()

    def _validate_combinations(self):
        if self.data_dir is not None:
            if self.dataset != "mnist":
                raise ValueError(
                    f"Choose dataset={self.dataset!r} or data_dir={self.data_dir!r}, not both."
                )
            if self.binarize:
                raise ValueError(
                    "binarize is for the in-memory datasets (mnist, fashion_mnist, cifar10, "
                    "shapes), not data_dir."
                )
        if self.keep_best and self.train_on_all:
            raise ValueError(
                "keep_best=True chooses the epoch of the best validation loss, and train_on_all "
                "leaves no validation data: drop one of them."
            )
        if self.deterministic and self.seed is None:
            raise ValueError("deterministic training needs a seed; set seed.")
        schedules = [
            name
            for name in ("kl_warmup_epochs", "kl_warmup_steps", "kl_cycles")
            if getattr(self, name)
        ]
        if len(schedules) > 1:
            raise ValueError(
                f"Choose one KL schedule; got {' and '.join(schedules)}. Set the others to 0."
            )
        check_settings(self, TrainConfig())
        if self.strategy == "multi_worker" and self.seed is None:
            raise ValueError(
                "strategy 'multi_worker' needs a seed (the same on every worker) so that "
                "all workers shuffle the data alike; set seed."
            )

    @property
    def time_limit_seconds(self):
        """`time_limit` in seconds, or None."""
        return None if self.time_limit is None else duration_seconds(self.time_limit)

    @property
    def keeps_best(self):
        """Whether the run's model is its best epoch's: `keep_best`, by default on with `time_limit`.

        A run without validation data writes its last epoch's anyway.
        """
        return self.keep_best if self.keep_best is not None else self.time_limit is not None

    def settings(self):
        """The run's settings as a JSON-ready dict (what config.json holds)."""
        return dataclasses.asdict(self)

    def command(self, script="scripts/train.py"):
        """The train.py command that trains a run with these settings.

        Each setting that differs from its default is written as its flag
        (`scripts/train.py` has one per field, same name), and `latent_dim`
        always. Left out: `output_dir` (where a run is written is not what it
        is) and a setting set to None where its default is not (no flag gives
        None). Values with spaces are quoted for the shell.

        Example:

        >>> TrainConfig(latent_dim=2, binarize=True).command()
        'python scripts/train.py --latent_dim=2 --binarize'
        """
        defaults = type(self)()
        words = ["python", script]
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            # A None that is not the default has no flag (it is the default's absence);
            # latent_dim is written always: it names a run (runs/conv_latent2_<time>).
            default = getattr(defaults, field.name)
            if field.name == "output_dir" or value is None:
                continue
            if value == default and field.name != "latent_dim":
                continue
            if isinstance(value, bool) and field.type is bool:
                words.append(f"--{field.name}" if value else f"--no{field.name}")
            elif isinstance(field.metadata["check"], OneOf):
                words.append(f"--{field.name}={str(value).lower()}")  # the flag's enum word
            else:
                words.append(f"--{field.name}={value}")
        return shlex.join(words)


def _typed(name, field):
    """`(name, type, field)` of a variant's setting, for `make_dataclass`."""
    kind = field.metadata.get("type") or type(field.default)
    return name, kind, field


TrainConfig = dataclasses.make_dataclass(
    "TrainConfig",
    [(field.name, field.type, field) for field in dataclasses.fields(_CommonSettings)]
    + [_typed(name, field) for name, field in variant_settings().items()],
    bases=(_Methods,),
    namespace={"__module__": __name__},
)
TrainConfig.__doc__ = """Everything that defines a training run.

    Its fields are the settings of every variant (`model`, `latent_dim`,
    `epochs`, ...) and each registered variant's own (`beta`, `prior`, ...,
    declared in `vae_tf.models.registry` entries).
"""
_FIELDS = {field.name: field for field in dataclasses.fields(TrainConfig)}
TrainConfig.__doc__ += "\n\n    Attributes:\n" + "".join(
    textwrap.fill(
        f"{name}: {field.metadata['help']}",
        88,
        initial_indent=" " * 8,
        subsequent_indent=" " * 12,
    )
    + "\n"
    for name, field in _FIELDS.items()
)


def differences(stored, settings, may_change=RESUMABLE_CHANGES):
    """`"field: old -> new"` for each setting of `settings` not in `may_change` that differs.

    By default those a resumed run may not change.
    """
    return [
        f"{key}: {stored.get(key)!r} -> {value!r}"
        for key, value in settings.items()
        if key not in may_change and stored.get(key, value) != value
    ]
