"""absl flags made from `TrainConfig`'s fields, and the scripts' one-line errors.

Every flag comes from a field: its type, default, help text, enum values and
bounds are the field's (`vae_tf.runs.config.setting`), so flags and config
never disagree. The library speaks of settings as `name=value` (it is used
from notebooks too); `flag_words` turns that into `--name=value` wherever a
script prints a message.

Example:

```python
from absl import app, flags
from vae_tf import cli

cli.define_train_flags()

def main(argv):
    config = cli.config_from_flags(flags.FLAGS)   # a validated TrainConfig
    vae_tf.train(config)

cli.run(main)
```
"""

import dataclasses
import os
import re
import sys
import typing

from absl import app
from absl import flags
from absl import logging

from vae_tf.models import registry
from vae_tf.presets import list_presets
from vae_tf.presets import preset_directory
from vae_tf.runs.config import TrainConfig
from vae_tf.runs.preset_files import PresetVersionError
from vae_tf.utils import startup
from vae_tf.utils.checks import OneOf
from vae_tf.utils.files import DiskFullError
from vae_tf.utils.files import is_disk_full
from vae_tf.utils.signals import SIGNAL_NAMES
from vae_tf.utils.signals import Interrupted
from vae_tf.utils.signals import sigterm_as_interrupt

flags.DEFINE_bool(
    "verbose",
    False,
    "Show the full traceback of an error, and TensorFlow's C++ start-up lines.",
)

_FIELDS = {field.name: field for field in dataclasses.fields(TrainConfig)}


def _base_type(field):
    """`int` for `Optional[int]`, ...; None for a Union of several types."""
    args = [arg for arg in typing.get_args(field.type) if arg is not type(None)]
    if not args:
        return field.type
    return args[0] if len(args) == 1 else None


def _enum_words(check):
    """`{flag word: value}` of a choice check whose choices are not all strings."""
    return {str(choice).lower(): choice for choice in check.choices}


def _flag_kind(field):
    """`(absl kind, enum words or None)` of a field."""
    check = field.metadata["check"]
    if isinstance(check, OneOf) and not all(isinstance(c, int) for c in check.choices):
        return "enum", _enum_words(check)
    return {bool: "bool", int: "integer", float: "float"}.get(_base_type(field), "string"), None


def flag_words(text, names=tuple(_FIELDS) + ("resume", "overwrite")):
    """`text` with the library's words for settings written as the scripts' flags.

    For the setting names given: `name=True` becomes `--name`, `name=False`
    `--noname`, `name=...` `--name=...`, a message's `name must ...` `--name
    must ...`, and a bare mention of a name with an underscore (`output_dir`,
    never an English word such as "epochs") `--output_dir`. Paths and flags
    already written are left alone.

    Example:

    >>> flag_words("Pass overwrite=True, or choose another output_dir.")
    'Pass --overwrite, or choose another --output_dir.'
    """
    alternatives = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    settings = re.compile(rf"(?<![-\w./])({alternatives})(=True\b|=False\b|=| must\b)")

    def flag(match):
        name, tail = match.groups()
        if tail == "=True":
            return f"--{name}"
        if tail == "=False":
            return f"--no{name}"
        return f"--{name}{tail}"

    text = settings.sub(flag, text)
    compound = "|".join(sorted((re.escape(n) for n in names if "_" in n), key=len, reverse=True))
    mentions = re.compile(rf"(?<![-\w./'\"])({compound})(?![\w/'\"=])")
    return mentions.sub(r"--\1", text)


def _validator(name, check):
    def validate(value):
        try:
            check(name, value)
        except ValueError as error:
            raise flags.ValidationError(flag_words(str(error))) from None
        return True

    return validate


def define_train_flags(exclude=(), flag_values=flags.FLAGS):
    """Defines a flag per `TrainConfig` field (but those in `exclude`)."""
    defaults = TrainConfig()
    for name, field in _FIELDS.items():
        if name in exclude:
            continue
        kind, words = _flag_kind(field)
        check = field.metadata["check"]
        help_text = flag_words(field.metadata["help"])
        default = getattr(defaults, name)
        if kind == "enum":
            words = words or {choice: choice for choice in check.choices}
            default = next(word for word, value in words.items() if value == default)
            flags.DEFINE_enum(name, default, list(words), help_text, flag_values=flag_values)
            continue
        bounds = check.flag_bounds() if check is not None and kind != "string" else {}
        getattr(flags, f"DEFINE_{kind}")(
            name, default, help_text, flag_values=flag_values, **bounds
        )
        if check is not None:
            flags.register_validator(name, _validator(name, check), flag_values=flag_values)


_PARSERS = {
    "bool": flags.BooleanParser(),
    "integer": flags.IntegerParser(),
    "float": flags.FloatParser(),
    "string": flags.ArgumentParser(),
}


def setting_values(name, texts):
    """The values of the `TrainConfig` setting `name` written as its flag's text.

    For scripts that vary one setting (`--vary=kl_warmup_epochs
    --values=0,10`): each text is read as the flag `--name` reads it, and
    checked by the setting's own bounds.

    Raises:
        app.UsageError: for an unknown setting or a value it refuses.
    """
    if name not in _FIELDS or name == "output_dir":
        raise app.UsageError(
            f"--vary must name a setting of train.py (docs/flags.md), not {name!r}."
        )
    field = _FIELDS[name]
    kind, words = _flag_kind(field)
    values = []
    for text in texts:
        try:
            if kind == "enum":
                value = (words or {c: c for c in field.metadata["check"].choices})[text]
            else:
                value = _PARSERS[kind].parse(text)
            if field.metadata["check"] is not None:
                field.metadata["check"](name, value)
        except (KeyError, ValueError) as error:
            detail = f": {flag_words(str(error))}" if isinstance(error, ValueError) else ""
            raise app.UsageError(f"--values: {text!r} is not a value of --{name}{detail}")
        values.append(value)
    return values


def config_from_flags(flag_values=flags.FLAGS, **overrides):
    """The validated `TrainConfig` of the parsed flags, with `overrides` applied.

    Raises:
        app.UsageError: naming the invalid flag and its fix.
    """
    values = {}
    for name, field in _FIELDS.items():
        if name not in flag_values:
            continue
        value = flag_values[name].value
        kind, words = _flag_kind(field)
        values[name] = words[value] if words else value
    config = TrainConfig(**{**values, **overrides})
    try:
        config.validate()
    except ValueError as error:
        raise app.UsageError(flag_words(str(error)))
    return config


# A full disk and a failed training (1), bad input (2, as argparse has it).
_ERRORS = {
    DiskFullError: 1,
    app.UsageError: 2,
    flags.Error: 2,
    ValueError: 2,
    OSError: 2,
    ImportError: 2,  # an optional package a flag needs (huggingface_hub for --preset=hf://...)
    PresetVersionError: 2,
    FloatingPointError: 1,
}


def define_preset_flag(flag_values=flags.FLAGS):
    """Defines `--preset`, the pretrained model a script takes instead of `--run_dir`."""
    flags.DEFINE_string(
        "preset",
        None,
        "A pretrained model instead of --run_dir, with nothing trained: a preset's name ("
        + ", ".join(list_presets())
        + "; docs/presets.md), a preset folder (vae_tf.presets.save_preset), or hf://owner/name "
        "(with huggingface_hub).",
        flag_values=flag_values,
    )


def run_dir_or_preset(flag_values=flags.FLAGS):
    """The folder of `--run_dir` or of `--preset` (which reads as a finished run).

    Raises:
        app.UsageError: unless exactly one of them is given.
    """
    run_dir, preset = flag_values.run_dir, flag_values.preset
    if (run_dir is None) == (preset is None):
        raise app.UsageError(
            "Give --run_dir=RUN (a run of train.py) or --preset=NAME, one of them."
        )
    return run_dir if preset is None else preset_directory(preset)


def _script():
    return os.path.basename(sys.argv[0])


def _fail(error, flag_values):
    if "verbose" in flag_values and flag_values["verbose"].value:
        raise error
    status = next(code for kind, code in _ERRORS.items() if isinstance(error, kind))
    print(f"{_script()}: error: {flag_words(str(error))}", file=sys.stderr)
    sys.exit(status)


def _stop(interrupt, flag_values, interrupted):
    """One line for a Ctrl-C or SIGTERM, and the shell's exit status 128 + signal."""
    if flag_values["verbose"].value:
        raise interrupt
    if not isinstance(interrupt, Interrupted):  # Ctrl-C's bare KeyboardInterrupt
        interrupt = Interrupted(str(interrupt))
    # A training says where it stopped; elsewhere the script says what is left.
    message = str(interrupt) or f"{SIGNAL_NAMES[interrupt.signal_number]}: {interrupted}."
    # Keras' progress bar leaves its line open: end it, in a terminal or a log
    # (a Slurm job's output file), so the line stands alone.
    print(flush=True)
    print(f"{_script()}: {flag_words(message)}", file=sys.stderr)
    sys.exit(interrupt.exit_status)


def _disk_full(error):
    """`error` as a `DiskFullError` naming the folder of the file it could not write."""
    filename = getattr(error, "filename", None)
    return DiskFullError(os.path.dirname(os.path.abspath(filename)) if filename else os.getcwd())


def guarded(main, flag_values=flags.FLAGS, interrupted="nothing was written"):
    """`main` with the scripts' error and interrupt conventions (`run` calls it).

    A bad flag, bad input or missing file prints one line,
    `<script>: error: <what is wrong and how to fix it>` (settings named as
    the script's flags), and exits with status 2; a training that fails (a
    NaN loss) or a full disk exits with status 1. Ctrl-C (SIGINT) or SIGTERM
    prints one line, `<script>: Interrupted: <interrupted>.` (a training
    says where it stopped and how to resume), and exits with status 130 or
    143, as the shell reports a process stopped by those signals. The
    traceback is shown with --verbose only.

    Args:
        main: The script's `main(argv)`.
        flag_values: The parsed flags (with --verbose).
        interrupted: What a stop leaves behind, for the one line.
    """

    def guarded_main(argv):
        if flag_values["verbose"].value:
            sys.stderr.write("".join(startup.HIDDEN_LINES))
        try:
            with sigterm_as_interrupt():
                return main(argv)
        except KeyboardInterrupt as interrupt:
            _stop(interrupt, flag_values, interrupted)
        except Exception as error:
            if is_disk_full(error) and not isinstance(error, DiskFullError):
                error = _disk_full(error)
            if not isinstance(error, tuple(_ERRORS)):
                raise
            _fail(error, flag_values)

    return guarded_main


def run(main, flag_values=flags.FLAGS, interrupted="nothing was written"):
    """`absl.app.run(main)` with the scripts' conventions (see `guarded`)."""

    def parse(argv):
        try:
            return flag_values(argv)
        except flags.Error as error:
            _fail(error, flag_values)

    app.run(guarded(main, flag_values, interrupted), flags_parser=parse)


def quiet_logs(flag_values=flags.FLAGS):
    """Shows warnings and errors only, unless --verbosity was given.

    TensorFlow's INFO lines (SavedModel writing) would bury a script's results.
    """
    if not flag_values["verbosity"].present:
        logging.set_verbosity(logging.WARNING)


# The flags train.py defines besides TrainConfig's (scripts/train.py).
_RUN_FLAGS = (
    (
        "resume",
        "off",
        "Insist on resuming --output_dir: its interrupted run, or its finished run "
        "trained on to --epochs.",
    ),
    (
        "overwrite",
        "off",
        "Start afresh: replace a finished run (once the new one is complete), "
        "discard an interrupted one.",
    ),
    (
        "verbose",
        "off",
        "Show the traceback of an error, and TensorFlow's C++ start-up lines (every script).",
    ),
)


def _default_text(value):
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str):
        return f"`{value}`"
    return str(value)


def _cell(text):
    return text.replace("|", "\\|")


def flags_markdown():
    """docs/flags.md: every flag of train.py, made from the settings' own metadata.

    `python scripts/flags_doc.py` writes it; a test checks that it is current.
    """
    defaults = TrainConfig()
    specific = set(registry.specific_settings())
    lines = [
        "# Training flags",
        "",
        "Made by `python scripts/flags_doc.py` from the settings' own help texts and bounds "
        "(`vae_tf.TrainConfig` and the model registry, `vae_tf.models.registry`); "
        "`python scripts/train.py --helpshort` prints the same. Invalid values or contradictory "
        "flags (two KL schedules, `--model=autoencoder` with `--beta`) stop with an error that "
        "names them.",
        "",
        "## Models",
        "",
        "| `--model` | what it is | the flags it takes besides everyone's |",
        "|---|---|---|",
    ]
    for name in registry.variant_names():
        variant = registry.get_variant(name)
        own = ", ".join(f"`--{setting}`" for setting in variant.setting_names()) or "none"
        lines.append(f"| `{name}` | {_cell(variant.description)} | {own} |")
    lines += ["", "## Flags", "", "| flag | default | models | meaning |", "|---|---|---|---|"]
    for name, field in _FIELDS.items():
        models = ", ".join(registry.takers(name)) if name in specific else "all"
        help_text = _cell(flag_words(field.metadata["help"]))
        default = _default_text(getattr(defaults, name))
        lines.append(f"| `--{name}` | {_cell(default)} | {models} | {help_text} |")
    for name, default, help_text in _RUN_FLAGS:
        lines.append(f"| `--{name}` | {default} | all | {help_text} |")
    return "\n".join(lines) + "\n"
