"""A run directory's files: the one writer and reader of each, and loading a finished run.

- `config.json`: `write_settings` (atomic, with the library versions),
  `write_training` (how the training ended: epochs done, why it stopped,
  the best epoch, whose weights the model is) and `read_settings` /
  `read_config`.
- `history.csv`: `HistoryLogger` (written per epoch), `read_history`,
  `history_length`, `keep_history`.
- `vae.keras`, `saved_model/`, the diagrams and figures: `write_artifacts`;
  `last.weights.h5` (a run that keeps its best epoch: the last epoch's
  weights and optimizer state, what a resume goes on from): `write_last`;
  `load_run` reads a finished run back.

Example:

```python
run = load_run("runs/conv_latent2_20261122-231700")
run.model.decode([[0.0, 0.0]]); run.history["total_loss"][-1]
config = read_config(run.run_dir)          # its TrainConfig
```
"""

import csv
import dataclasses
import math
import os
import shutil
from typing import Optional

import keras
import tensorflow as tf

import vae_tf
from vae_tf import plotting
from vae_tf.export import export_saved_model
from vae_tf.models import LatentVariableModel
from vae_tf.runs import preset_files
from vae_tf.runs.config import TrainConfig
from vae_tf.utils.files import DamagedFileError
from vae_tf.utils.files import atomic_path
from vae_tf.utils.files import check_keras_archive
from vae_tf.utils.files import quiet_h5py_cleanup
from vae_tf.utils.files import read_json
from vae_tf.utils.files import write_json

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
PRIOR_HISTORY_FILE = "prior_history.csv"  # a VQ-VAE's prior's (vae_tf.runs.code_prior)
MODEL_FILE = "vae.keras"
# The last epoch's weights of a run whose model is its best epoch's.
LAST_WEIGHTS_FILE = "last.weights.h5"
# The entry of config.json that says how the training ended (`write_training`).
TRAINING_KEY = "training"
LOGS_DIR = "logs"  # TensorBoard's, written during training


@dataclasses.dataclass
class TrainResult:
    """A trained model, its history and its run directory (`train`, `load_run`)."""

    model: LatentVariableModel
    history: dict
    run_dir: str
    # How the training ended (config.json's "training"; see `write_training`);
    # None for runs written before vae_tf recorded it.
    training: Optional[dict] = None
    # A VQ-VAE's prior's history (PRIOR_HISTORY_FILE), when the run trained one.
    prior_history: Optional[dict] = None


def write_settings(run_dir, settings):
    """Writes `settings` (a dict) and the library versions as `run_dir/config.json`, atomically."""
    versions = {
        "vae_tf": vae_tf.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    return write_json({**settings, "versions": versions}, os.path.join(run_dir, CONFIG_FILE))


def read_settings(run_dir):
    """The settings dict of `run_dir/config.json` (versions included).

    Of a preset's folder (`vae_tf.presets`), the settings of the run that made
    it, from its metadata.json: a preset reads as a finished run.

    Raises:
        FileNotFoundError: without a config.json (or a preset's files).
        DamagedFileError: if config.json is empty, not JSON or not a dict.
        vae_tf.runs.preset_files.PresetVersionError: for a preset that needs a
            newer vae_tf.
    """
    if preset_files.is_preset(run_dir):
        return preset_files.read_run_settings(run_dir)
    path = os.path.join(run_dir, CONFIG_FILE)
    fix = "restore it from a copy, or write it again from the run's flags"
    settings = read_json(path, fix=fix)
    if not isinstance(settings, dict):
        raise DamagedFileError(path, f"a JSON {type(settings).__name__}, not the settings", fix)
    return settings


def write_training(run_dir, training):
    """Adds `training` to `run_dir/config.json` (atomically), as its "training" entry.

    `training` says how the training ended: `epochs_done` of `epochs`,
    `stopped_by` ("epochs" or "time_limit"), `time_limit`, `seconds` (of
    this call's training: a resumed run counts from its resumption),
    `best_epoch` and `best_val_total_loss` (the lowest of history.csv, or
    None without validation), `model_weights` ("best" or "last") and
    `model_epoch` (the epoch whose weights vae.keras, saved_model and the
    figures hold).
    """
    settings = read_settings(run_dir)
    settings[TRAINING_KEY] = training
    return write_json(settings, os.path.join(run_dir, CONFIG_FILE))


def read_training(run_dir):
    """The "training" entry of `run_dir/config.json` (`write_training`), or None."""
    training = read_settings(run_dir).get(TRAINING_KEY)
    return training if isinstance(training, dict) else None


def best_epoch(history, monitor="val_total_loss"):
    """`(epoch, value)` of the lowest finite `monitor` in `history` (epochs from 1), or `(None, None)`.

    Ties go to the earlier epoch.
    """
    values = [
        (value, epoch)
        for epoch, value in enumerate(history.get(monitor, []), 1)
        if math.isfinite(value)
    ]
    if not values:
        return None, None
    value, epoch = min(values)
    return epoch, value


def write_last(model, run_dir):
    """Writes `model`'s weights, optimizer and noise state as `run_dir/last.weights.h5`, atomically."""
    path = os.path.join(run_dir, LAST_WEIGHTS_FILE)
    # Keras insists on the .weights.h5 ending, so no atomic_path here.
    partial = os.path.join(run_dir, "last.partial.weights.h5")
    try:
        with quiet_h5py_cleanup():
            model.save_weights(partial)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return path


def read_config(run_dir):
    """The `TrainConfig` of a run directory, from its config.json.

    Settings added after the run was written take their defaults.
    """
    values = read_settings(run_dir)
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{key: value for key, value in values.items() if key in fields})


def read_history(path):
    """The per-epoch history in a `history.csv` as `{column: [floats]}`.

    Raises:
        DamagedFileError: for a row with too few or too many cells, or a cell
            that is not a number (naming the line and the column).
    """
    fix = "restore it from a copy (the model files of the run do not depend on it)"
    with open(path, newline="") as f:
        lines = list(csv.reader(f))
    header, rows = (lines[0], lines[1:]) if lines else ([], [])
    columns = {key: [] for key in header if key != "epoch"}
    measured = set()  # the columns with a value; Keras writes "NA" val_ columns without validation
    for number, row in enumerate(rows, 2):
        if len(row) != len(header):
            raise DamagedFileError(
                path, f"line {number} has {len(row)} cells for {len(header)} columns", fix
            )
        for key, text in zip(header, row):
            if key == "epoch":
                continue
            if text != "NA":
                measured.add(key)
            try:
                columns[key].append(float("nan") if text == "NA" else float(text))
            except ValueError:
                raise DamagedFileError(
                    path, f"line {number}: {key} is {text!r}, not a number", fix
                ) from None
    return {key: values for key, values in columns.items() if key in measured}


class HistoryLogger(keras.callbacks.CSVLogger):
    """Keras' `CSVLogger`, whose rows appended to a history.csv keep to its columns.

    Keras takes the columns from the first epoch's logs and writes a header
    only into an empty file, so a run resumed by a version that logs one
    column more (`epoch_seconds`, added later) appended rows longer than the
    header, every value after the new column shifted. Here an existing
    header decides the columns: a value missing from the logs is "NA", a
    column the header lacks is left out.

    Example: `HistoryLogger("run/history.csv", append=True)`.
    """

    def on_epoch_end(self, epoch, logs=None):
        if self.keys is None and not self.append_header:
            with open(self.filename, newline="") as f:
                header = next(csv.reader(f), [])
            self.keys = [key for key in header if key != "epoch"] or None
        super().on_epoch_end(epoch, logs)


def history_length(path):
    """The number of epochs recorded in a `history.csv`."""
    return len(read_history(path).get("loss", []))


def keep_history(path, epochs):
    """Cuts `history.csv` to its first `epochs` rows (a crash may have left one more)."""
    if not os.path.isfile(path):
        return
    with open(path, newline="") as f:
        rows = f.readlines()
    with atomic_path(path) as partial, open(partial, "w", newline="") as f:
        f.writelines(rows[: epochs + 1])


def write_artifacts(model, history, run_dir, test_set, seed=0, source=None):
    """Writes the run's model files, diagrams and figures into `run_dir`.

    `test_set` is `(images, labels)`, encoded and shown in the figures;
    `seed` chooses the images shown; `source`, the run's `DataSource`, gives
    the images' known factors when it has them. (config.json is the run
    directory's.)
    """
    model.save(os.path.join(run_dir, MODEL_FILE))
    saved_model = os.path.join(run_dir, "saved_model")
    # One from an interrupted write of these files, in a run resumed to write them.
    shutil.rmtree(saved_model, ignore_errors=True)
    export_saved_model(model, saved_model)
    for name, network in model.networks.items():
        plotting.save_model_diagram(network, os.path.join(run_dir, f"{name}.png"))
    images, labels = test_set
    factors = source.factors("test") if source is not None and source.factors else None
    plotting.write_figures(
        model,
        run_dir,
        images,
        labels,
        history,
        seed=seed,
        factors=factors,
        factor_names=None if factors is None else source.factor_names,
    )


def load_run(run_dir):
    """Loads a run directory written by `train`: its model and history.

    A preset's folder (`vae_tf.presets.preset_directory`) loads too, as a
    finished run without its history: every tool that takes a run takes a
    preset.

    Raises:
        FileNotFoundError: if `run_dir` holds no `vae.keras` (nor a preset).
        DamagedFileError: if its `vae.keras` or `history.csv` is damaged (a
            preset's files: `preset_files.load_preset_model`).
    """
    if preset_files.is_preset(run_dir):
        model = preset_files.load_preset_model(run_dir)
        training = preset_files.read_metadata(run_dir).get("training")
        return TrainResult(model=model, history={}, run_dir=run_dir, training=training)
    model_path = os.path.join(run_dir, MODEL_FILE)
    if not os.path.isfile(model_path):
        raise FileNotFoundError(
            f"No vae.keras in {run_dir}: is it a run directory written by "
            "vae_tf.train or scripts/train.py (a finished run, not a .partial one)?"
        )
    check_keras_archive(
        model_path,
        "train the run again, or restore the file from a copy (its SavedModel, if "
        "whole, still decodes)",
    )
    model = keras.saving.load_model(model_path, safe_mode=True)
    history_path = os.path.join(run_dir, HISTORY_FILE)
    history = read_history(history_path) if os.path.isfile(history_path) else {}
    try:
        training = read_training(run_dir)
    except (FileNotFoundError, DamagedFileError):  # the model and history do not need it
        training = None
    # A VQ-VAE run's second stage (vae_tf.runs.code_prior).
    prior_path = os.path.join(run_dir, PRIOR_HISTORY_FILE)
    prior_history = read_history(prior_path) if os.path.isfile(prior_path) else None
    return TrainResult(
        model=model,
        history=history,
        run_dir=run_dir,
        training=training,
        prior_history=prior_history,
    )
