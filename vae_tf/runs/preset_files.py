"""A preset's folder: the one writer and reader of its three files, and their checks.

KerasHub's layout (and a `.keras` archive's members), unzipped:

- `config.json`: the model's Keras configuration
  (`keras.saving.serialize_keras_object`), its compile configuration included;
- `model.weights.h5`: its weights alone (no optimizer state: a third of a
  run's `vae.keras`), with the noise generator's state;
- `metadata.json`: what the model is and how good: the description, the
  dataset, the parameter count, the run's settings and the train.py command
  that gives them, the versions that trained it, the measured numbers, the
  SHA-256 of the two other files, and the least vae_tf that reads it.

A preset is a finished run's published form (`vae_tf.presets` names and
makes them); `load_run` and `read_settings` read one as a run. Every file is
checked before use: a missing one is named, a config or weights file whose
hash is not the metadata's is refused as damaged, and a preset that needs a
newer vae_tf says which.

Example:

```python
write_preset(model, "presets/mine", {"description": "...", "settings": config.settings()})
model = load_preset_model("presets/mine")
read_metadata("presets/mine")["weights_sha256"]
```
"""

import os
import re
import shutil
import uuid
import warnings

import keras

import vae_tf
from vae_tf.utils.files import DamagedFileError
from vae_tf.utils.files import file_sha256
from vae_tf.utils.files import quiet_h5py_cleanup
from vae_tf.utils.files import read_json
from vae_tf.utils.files import write_json

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
PRESET_FILES = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE)
# The layout of the files; a change that older readers cannot read raises it, and with
# it READER_VERSION, the least vae_tf that reads what this one writes.
PRESET_FORMAT = 1
READER_VERSION = "0.2.0"
# The files whose SHA-256 the metadata records, under these keys.
_HASHED = {CONFIG_FILE: "config_sha256", WEIGHTS_FILE: "weights_sha256"}
_FIX = "copy the preset again, or make it again with save_preset (scripts/make_presets.py)"


class PresetVersionError(RuntimeError):
    """A preset that needs a newer vae_tf than the one reading it."""


def is_preset(directory):
    """Whether `directory` holds a preset: its metadata and weights (a run directory has neither)."""
    return all(
        os.path.isfile(os.path.join(directory, name)) for name in (METADATA_FILE, WEIGHTS_FILE)
    )


def version_tuple(version):
    """`(0, 10, 0)` of `"0.10"` or `"0.10.0"`: the release numbers, compared as numbers.

    A pre-release or development suffix (`"0.3.0rc1"`, `"0.3.0.dev1"`) is
    dropped: it reads as the release it leads to.
    """
    numbers = re.match(r"\s*v?(\d+(?:\.\d+)*)", str(version))
    if numbers is None:
        raise ValueError(f"{version!r} is not a version number")
    release = tuple(int(number) for number in numbers.group(1).split("."))
    return (release + (0, 0, 0))[:3]


def check_preset_folder(directory):
    """Raises FileNotFoundError naming the files a preset needs and `directory` lacks."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"No preset folder {directory}: it does not exist.")
    missing = [name for name in PRESET_FILES if not os.path.isfile(os.path.join(directory, name))]
    if missing:
        run = (
            " It is a run directory: vae_tf.load_run(path).model loads its model, and "
            "vae_tf.presets.save_preset(path, out_dir) makes a preset of it."
            if os.path.isfile(os.path.join(directory, "vae.keras"))
            else ""
        )
        raise FileNotFoundError(
            f"{directory} is not a preset: it has no {' and no '.join(missing)} (a preset "
            f"folder holds {', '.join(PRESET_FILES)}, as save_preset writes them).{run}"
        )


def read_metadata(directory):
    """The metadata dict of the preset in `directory`, its version checked (not its hashes).

    Raises:
        FileNotFoundError: naming a missing file of the preset.
        DamagedFileError: if metadata.json is not a preset's metadata.
        PresetVersionError: if the preset needs a newer vae_tf, naming the version.
    """
    check_preset_folder(directory)
    path = os.path.join(directory, METADATA_FILE)
    metadata = read_json(path, fix=_FIX)
    try:
        needed = version_tuple(metadata["reader_version"])
    except (TypeError, KeyError, ValueError):
        raise DamagedFileError(path, "not a preset's metadata (no reader_version)", _FIX) from None
    if needed > version_tuple(vae_tf.__version__):
        wanted = metadata["reader_version"]
        raise PresetVersionError(
            f"The preset in {directory} needs vae_tf {wanted} or newer, and this is vae_tf "
            f"{vae_tf.__version__}: upgrade it (pip install -U 'vae_tf>={wanted}') to read it."
        )
    return metadata


def read_run_settings(directory):
    """The settings of the run that made the preset in `directory` (its metadata's "settings").

    Raises:
        DamagedFileError: if the metadata has none (a model saved without its run).
    """
    metadata = read_metadata(directory)
    if not isinstance(metadata.get("settings"), dict):
        raise DamagedFileError(
            os.path.join(directory, METADATA_FILE),
            "it holds no run settings (a model saved without its run, by write_preset)",
            "make the preset with vae_tf.presets.save_preset(run_dir, out_dir), which records them",
        )
    return {**metadata["settings"], "versions": metadata.get("versions", {})}


def read_checked_metadata(directory):
    """`read_metadata`, after checking the config and weights files against their hashes.

    Raises:
        DamagedFileError: naming a file whose SHA-256 is not the metadata's.
    """
    metadata = read_metadata(directory)
    for name, key in _HASHED.items():
        path = os.path.join(directory, name)
        digest, recorded = file_sha256(path), str(metadata.get(key))
        if digest != recorded:
            raise DamagedFileError(
                path,
                f"its SHA-256 is {digest[:12]}..., not the {recorded[:12]}... that "
                f"{METADATA_FILE} gives (a damaged or replaced file)",
                _FIX,
            )
    return metadata


def write_preset(model, directory, metadata):
    """Writes `model` and `metadata` (a JSON-ready dict) as a preset in `directory`.

    The folder appears whole or not at all: written under a temporary name
    beside it, then renamed. A preset already there is replaced (kept if the
    write fails); a folder holding anything else is refused
    (FileExistsError). `metadata` gains `parameter_count`, `config_sha256`,
    `weights_sha256`, `weights_bytes`, `vae_tf_version` (the writer's),
    `reader_version` and `preset_format`. Returns the metadata written.
    """
    directory = os.path.abspath(directory)
    if os.path.exists(directory) and os.listdir(directory):
        held = sorted(os.listdir(directory))
        if set(held) - set(PRESET_FILES) or not is_preset(directory):
            raise FileExistsError(
                f"{directory} is not empty and not a preset (it holds {', '.join(held)}): "
                "choose another folder (only a preset there would be replaced)."
            )
    parent, name = os.path.split(directory)
    os.makedirs(parent, exist_ok=True)
    partial = _unique(parent, name, "partial")
    os.makedirs(partial)
    try:
        config = keras.saving.serialize_keras_object(model)
        write_json(config, os.path.join(partial, CONFIG_FILE))
        # Through an uncompiled copy, so that the file holds the weights without the
        # optimizer's state, and with the noise's (which get_weights leaves out).
        weights_only = _rebuild(config)
        everything = os.path.join(partial, "everything.weights.h5")
        weights = os.path.join(partial, WEIGHTS_FILE)
        with quiet_h5py_cleanup(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
            model.save_weights(everything)
            weights_only.load_weights(everything)
        os.remove(everything)
        with quiet_h5py_cleanup():
            weights_only.save_weights(weights)
        metadata = {
            **metadata,
            "parameter_count": int(model.count_params()),
            **{key: file_sha256(os.path.join(partial, file)) for file, key in _HASHED.items()},
            "weights_bytes": os.path.getsize(weights),
            "vae_tf_version": vae_tf.__version__,
            "reader_version": READER_VERSION,
            "preset_format": PRESET_FORMAT,
        }
        write_json(metadata, os.path.join(partial, METADATA_FILE))
        _replace(partial, directory)
    finally:
        shutil.rmtree(partial, ignore_errors=True)  # gone when renamed
    return metadata


def _replace(partial, directory):
    """Renames the folder `partial` onto `directory`; an earlier preset there survives a failure."""
    if not os.path.exists(directory):
        os.rename(partial, directory)
        return
    old = _unique(*os.path.split(directory), "old")
    os.rename(directory, old)
    try:
        os.rename(partial, directory)
    except OSError:
        os.rename(old, directory)
        raise
    shutil.rmtree(old)


def _unique(parent, name, kind):
    """A path beside `name` in `parent` that no one else uses (a hidden name of this call)."""
    return os.path.join(parent, f".{name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _rebuild(config):
    """The model of a preset's `config`, built, uncompiled, with fresh weights."""
    config = {key: value for key, value in config.items() if key != "compile_config"}
    return keras.saving.deserialize_keras_object(config, safe_mode=True)


def load_preset_model(directory):
    """The model of the preset in `directory`, with its weights, compiled as it trained.

    Raises:
        FileNotFoundError: naming a missing file of the preset.
        DamagedFileError: naming a damaged file: a config or weights file
            whose SHA-256 is not the metadata's, a config.json that is not JSON.
        PresetVersionError: if the preset needs a newer vae_tf.
    """
    read_checked_metadata(directory)
    config = read_json(os.path.join(directory, CONFIG_FILE), fix=_FIX)
    model = _rebuild(config)
    model.load_weights(os.path.join(directory, WEIGHTS_FILE))
    if "compile_config" in config:
        # After the weights: an optimizer built before them would expect its own state in the file.
        model.compile_from_config(config["compile_config"])
    return model
