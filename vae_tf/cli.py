"""absl flags for every `TrainConfig` field, shared by the scripts.

`scripts/train.py` defines them all; `scripts/sweep.py` all but the ones it
sweeps. Defaults come from `TrainConfig`, so flags and config never disagree.

Example:

```python
from absl import app, flags
from vae_tf import cli

cli.define_train_flags()

def main(argv):
    config = cli.config_from_flags(flags.FLAGS)   # a validated TrainConfig
    vae_tf.train(config)

app.run(main)
```
"""

import dataclasses
import os
import sys

from absl import app
from absl import flags
from absl import logging

from vae_tf.architectures import PRESETS
from vae_tf.data import DATASETS
from vae_tf.distribute import STRATEGIES
from vae_tf.image_folder import BAD_IMAGES
from vae_tf.model import LIKELIHOODS
from vae_tf.training import PRECISIONS
from vae_tf.training import TrainConfig

_JIT = {"auto": "auto", "true": True, "false": False}

flags.DEFINE_bool("verbose", False, "Show the full traceback of an error.")

# field -> (absl type, help, extra arguments of DEFINE_<type>)
_FLAGS = {
    "latent_dim": ("integer", "Size of the latent code.", {"lower_bound": 1}),
    "architecture": (
        "enum",
        "Encoder/decoder preset: conv (the keras.io example), mlp (784-400-latent) or conv64 "
        "(the 64x64 RGB face VAE; use --learning_rate=0.0005).",
        {"enum_values": sorted(PRESETS)},
    ),
    "dataset": (
        "string",
        "mnist (bundled), fashion_mnist or cifar10 (downloaded once by keras.datasets), or the "
        "path of an .npz of your own arrays (x_train, x_test; optional y_train, y_test).",
        {},
    ),
    "data_dir": (
        "string",
        "Train on this folder of images instead (PNG, JPEG, GIF, BMP, searched recursively; "
        "one sub-folder per class gives labels).",
        {},
    ),
    "image_size": (
        "integer", "Side of the square images made from --data_dir (centre crop, resize).",
        {"lower_bound": 1},
    ),
    "channels": ("integer", "3 (RGB) or 1 (grayscale), for --data_dir.", {}),
    "validation_split": (
        "float", "Fraction of --data_dir's files held out for validation and figures.", {}
    ),
    "cache": (
        "string",
        "For --data_dir: keep the decoded images in 'memory', or in files with this path "
        "prefix; default: decode at every epoch (flat memory).",
        {},
    ),
    "bad_images": (
        "enum",
        "For --data_dir: skip corrupt or unreadable files (each reported in the log) or raise "
        "on the first.",
        {"enum_values": list(BAD_IMAGES)},
    ),
    "epochs": ("integer", "Passes over the training set.", {"lower_bound": 1}),
    "batch_size": ("integer", "Images per step.", {"lower_bound": 1}),
    "learning_rate": ("float", "Adam learning rate (> 0).", {}),
    "beta": (
        "float", "Weight of the KL term (beta-VAE); 1 is the true ELBO.", {"lower_bound": 0.0}
    ),
    "kl_warmup_epochs": (
        "integer",
        "KL warm-up: the KL weight grows linearly from 0 to --beta over this many epochs "
        "(0: off).",
        {"lower_bound": 0},
    ),
    "kl_warmup_steps": (
        "integer", "KL warm-up counted in training steps instead of epochs (0: off).",
        {"lower_bound": 0},
    ),
    "kl_cycles": (
        "integer",
        "Cyclical KL annealing (Fu et al., 2019): this many warm-up cycles over the run "
        "(0: off).",
        {"lower_bound": 0},
    ),
    "kl_cycle_ratio": (
        "float", "Fraction of each KL cycle over which the weight rises, in (0, 1].", {}
    ),
    "free_bits": (
        "float", "Free bits: KL floor in nats per latent dimension (0: off).",
        {"lower_bound": 0.0},
    ),
    "likelihood": (
        "enum",
        "p(x|z): auto (bernoulli for mnist and fashion_mnist, gaussian_learned for natural "
        "images), bernoulli (from logits), gaussian (fixed --sigma), gaussian_learned (one "
        "learned sigma), or mse (sum of squared errors: not a likelihood, not nats).",
        {"enum_values": ["auto", *LIKELIHOODS]},
    ),
    "sigma": (
        "float", "Standard deviation of the Gaussian likelihoods (start value when learned).",
        {},
    ),
    "z_log_var_clip": ("float", "Clip z_log_var to [-clip, clip] for stability; default: off.", {}),
    "autoencoder": (
        "bool",
        "Train a deterministic autoencoder (no sampling, no KL) with the same networks: "
        "the baseline to compare with.",
        {},
    ),
    "seed": (
        "integer", "Seed of weights, shuffling, binarization and sampling (>= 0).",
        {"lower_bound": 0},
    ),
    "steps_per_epoch": (
        "integer", "Cut each epoch to this many steps (quick trials); default: a full pass.",
        {"lower_bound": 1},
    ),
    "train_on_all": (
        "bool", "Train on all 70,000 images like the keras.io example (no validation set).", {}
    ),
    "binarize": (
        "bool",
        "Dynamic binarization: resample every pixel as 0/1 with its grey level as "
        "probability at every epoch.",
        {},
    ),
    "conditional": (
        "bool",
        "Conditional VAE: encoder and decoder see the digit's label; z keeps the style.", {},
    ),
    "run_eagerly": ("bool", "Run eagerly (slow; for debugging).", {}),
    "jit_compile": (
        "enum", "XLA compilation; auto lets Keras decide (on for GPUs, off on CPU).",
        {"enum_values": list(_JIT)},
    ),
    "steps_per_execution": (
        "integer",
        "Training steps per call of the compiled function (fewer Python round trips); runs "
        "with a KL schedule or a distribution strategy take 1.",
        {"lower_bound": 1},
    ),
    "mixed_precision": (
        "enum",
        "Keras dtype policy: mixed_float16 for GPUs, mixed_bfloat16 for TPUs and CPUs with "
        "bfloat16 instructions.",
        {"enum_values": list(PRECISIONS)},
    ),
    "strategy": (
        "enum",
        "tf.distribute strategy: default (one device), mirrored (every GPU of this machine), "
        "multi_worker (machines listed in TF_CONFIG) or tpu.",
        {"enum_values": list(STRATEGIES)},
    ),
    "checkpoint_steps": (
        "integer",
        "Checkpoint every this many training steps too (0: at every epoch's end only); a "
        "crashed run resumes from its latest checkpoint when rerun.",
        {"lower_bound": 0},
    ),
    "deterministic": (
        "bool",
        "Bit-for-bit reproducible training (TensorFlow op determinism; no XLA): a resumed "
        "run ends with the weights of an uninterrupted one.",
        {},
    ),
    "output_dir": (
        "string",
        "Run directory to create (must not exist, or be empty); default "
        "runs/<architecture>_latent<d>_<time>, or the newest interrupted run there with the "
        "same flags.",
        {},
    ),
}

_VALIDATORS = {
    "learning_rate": (lambda value: value > 0, "--learning_rate must be > 0."),
    "sigma": (lambda value: value > 0, "--sigma must be > 0."),
    "kl_cycle_ratio": (lambda value: 0 < value <= 1, "--kl_cycle_ratio must be in (0, 1]."),
    "validation_split": (
        lambda value: 0 <= value < 1, "--validation_split must be in [0, 1)."
    ),
    "dataset": (
        lambda value: value in DATASETS or value.endswith(".npz"),
        f"--dataset must be one of {', '.join(DATASETS)} or the path of an .npz file.",
    ),
    "channels": (lambda value: value in (1, 3), "--channels must be 1 (grayscale) or 3 (RGB)."),
    "z_log_var_clip": (lambda value: value is None or value > 0, "--z_log_var_clip must be > 0."),
}


def define_train_flags(exclude=(), flag_values=flags.FLAGS):
    """Defines a flag per `TrainConfig` field (but those in `exclude`)."""
    defaults = TrainConfig()
    for name, (kind, help_text, extra) in _FLAGS.items():
        if name in exclude:
            continue
        default = getattr(defaults, name)
        if name == "jit_compile":
            default = {value: key for key, value in _JIT.items()}[default]
        extra = dict(extra)
        if kind == "enum":
            flags.DEFINE_enum(
                name, default, extra.pop("enum_values"), help_text, flag_values=flag_values
            )
        else:
            getattr(flags, f"DEFINE_{kind}")(
                name, default, help_text, flag_values=flag_values, **extra
            )
        if name in _VALIDATORS:
            check, message = _VALIDATORS[name]
            flags.register_validator(name, check, message=message, flag_values=flag_values)


def config_from_flags(flag_values=flags.FLAGS, **overrides):
    """The validated `TrainConfig` of the parsed flags, with `overrides` applied.

    Raises:
        app.UsageError: naming the invalid field and its fix.
    """
    values = {
        field.name: flag_values[field.name].value
        for field in dataclasses.fields(TrainConfig)
        if field.name in flag_values
    }
    if "jit_compile" in values:
        values["jit_compile"] = _JIT[values["jit_compile"]]
    config = TrainConfig(**{**values, **overrides})
    try:
        config.validate()
    except ValueError as error:
        raise app.UsageError(str(error))
    return config


# Bad input (exit status 2, as argparse has it) and a failed training (1).
_ERRORS = {app.UsageError: 2, flags.Error: 2, ValueError: 2, OSError: 2, FloatingPointError: 1}


def _fail(error, flag_values):
    if "verbose" in flag_values and flag_values["verbose"].value:
        raise error
    status = next(code for kind, code in _ERRORS.items() if isinstance(error, kind))
    print(f"{os.path.basename(sys.argv[0])}: error: {error}", file=sys.stderr)
    sys.exit(status)


def run(main, flag_values=flags.FLAGS):
    """`absl.app.run(main)` with the scripts' error convention.

    A bad flag, bad input or missing file prints one line,
    `<script>: error: <what is wrong and how to fix it>`, and exits with
    status 2; a training that fails (a NaN loss) exits with status 1. The
    traceback is shown with --verbose only.
    """

    def parse(argv):
        try:
            return flag_values(argv)
        except flags.Error as error:
            _fail(error, flag_values)

    def guarded_main(argv):
        try:
            return main(argv)
        except tuple(_ERRORS) as error:
            _fail(error, flag_values)

    app.run(guarded_main, flags_parser=parse)


def quiet_logs(flag_values=flags.FLAGS):
    """Shows warnings and errors only, unless --verbosity was given.

    TensorFlow's INFO lines (SavedModel writing) would bury a script's results.
    """
    if not flag_values["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
