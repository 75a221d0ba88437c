"""A preset's folder: the one writer and reader of its three files, and their checks.

KerasHub's layout (and a `.keras` archive's members), unzipped:

- `config.json`: the model's Keras configuration
  (`keras.saving.serialize_keras_object`), its compile configuration included;
- `model.weights.h5`: its weights alone (no optimizer state: a third of a
  run's `vae.keras`);
- `metadata.json`: what the model is and how good (`PRESET_FORMAT` below):
  the description, the dataset, the parameter count, the run's settings and
  the train.py command that made it, the versions that trained it, the
  measured numbers, the SHA-256 of the weights, and the vae_tf version that
  reads it.

`load_preset_model` rebuilds the model from the first two after checking
every file: a missing one is named, weights whose hash is not the
metadata's are refused as damaged, and a preset written by a newer vae_tf
than this one says which version it needs.

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
# The version of the metadata's layout; a reader refuses a newer one's presets
# through the vae_tf version they ask for ("vae_tf_version").
PRESET_FORMAT = 1
_FIX = "copy the preset again, or make it again with save_preset (scripts/make_presets.py)"


class PresetVersionError(RuntimeError):
    """A preset written by a newer vae_tf than the one reading it."""


def is_preset(directory):
    """Whether `directory` holds a preset's metadata (a run directory has none)."""
    return os.path.isfile(os.path.join(directory, METADATA_FILE))


def version_tuple(version):
    """`(0, 2, 0)` of `"0.2.0"` (`"0.3.0.dev1"` counts as 0.3.0): the numbers compared."""
    return tuple(int(number) for number in re.findall(r"\d+", version.split("+")[0])[:3])


def check_preset_folder(directory):
    """Raises FileNotFoundError naming the files a preset needs and `directory` lacks."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"No preset folder {directory}: it does not exist.")
    missing = [name for name in PRESET_FILES if not os.path.isfile(os.path.join(directory, name))]
    if missing:
        raise FileNotFoundError(
            f"{directory} is not a preset: it has no {' and no '.join(missing)} (a preset "
            f"folder holds {', '.join(PRESET_FILES)}, as save_preset writes them)."
        )


def read_metadata(directory):
    """The metadata dict of the preset in `directory`, its version checked.

    Raises:
        FileNotFoundError: naming a missing file of the preset.
        DamagedFileError: if metadata.json is not a JSON dict.
        PresetVersionError: if a newer vae_tf wrote the preset, naming the version.
    """
    check_preset_folder(directory)
    path = os.path.join(directory, METADATA_FILE)
    metadata = read_json(path, fix=_FIX)
    if not isinstance(metadata, dict) or "vae_tf_version" not in metadata:
        raise DamagedFileError(path, "not a preset's metadata (no vae_tf_version)", _FIX)
    needed = metadata["vae_tf_version"]
    if version_tuple(needed) > version_tuple(vae_tf.__version__):
        raise PresetVersionError(
            f"The preset in {directory} was written by vae_tf {needed}, and this is vae_tf "
            f"{vae_tf.__version__}: upgrade it (pip install -U 'vae_tf>={needed}') to read it."
        )
    return metadata


def write_preset(model, directory, metadata):
    """Writes `model` and `metadata` (a JSON-ready dict) as a preset in `directory`.

    The folder appears whole or not at all (written beside it, then renamed);
    an existing preset there is replaced, any other non-empty folder refused
    (FileExistsError). `metadata` gains
    `weights_sha256`, `weights_bytes`, `parameter_count`, `vae_tf_version`
    and `preset_format`. Returns the metadata written.
    """
    directory = os.path.abspath(directory)
    if os.path.exists(directory) and os.listdir(directory) and not is_preset(directory):
        raise FileExistsError(
            f"{directory} exists and is not a preset: choose another folder (an earlier preset "
            "there would be replaced, anything else is left alone)."
        )
    partial, old = f"{directory}.partial", f"{directory}.old"
    for leftover in (partial, old):  # of a write that crashed
        shutil.rmtree(leftover, ignore_errors=True)
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
            warnings.simplefilter("ignore")  # "skipping the optimizer's variables": the intent
            model.save_weights(everything)
            weights_only.load_weights(everything)
            os.remove(everything)
            weights_only.save_weights(weights)
        metadata = {
            **metadata,
            "parameter_count": int(model.count_params()),
            "weights_sha256": file_sha256(weights),
            "weights_bytes": os.path.getsize(weights),
            "vae_tf_version": vae_tf.__version__,
            "preset_format": PRESET_FORMAT,
        }
        write_json(metadata, os.path.join(partial, METADATA_FILE))
        if os.path.exists(directory):
            os.rename(directory, old)
        os.rename(partial, directory)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return metadata


def _rebuild(config):
    """The model of a preset's `config`, built, uncompiled, with fresh weights."""
    config = {key: value for key, value in config.items() if key != "compile_config"}
    return keras.saving.deserialize_keras_object(config, safe_mode=True)


def load_preset_model(directory):
    """The model of the preset in `directory`, with its weights, compiled as it trained.

    Raises:
        FileNotFoundError: naming a missing file of the preset.
        DamagedFileError: naming a damaged file: weights whose SHA-256 is not
            the metadata's, a config.json that is not JSON.
        PresetVersionError: if a newer vae_tf wrote the preset.
    """
    metadata = read_metadata(directory)
    weights = os.path.join(directory, WEIGHTS_FILE)
    digest = file_sha256(weights)
    if digest != metadata.get("weights_sha256"):
        raise DamagedFileError(
            weights,
            f"its SHA-256 is {digest[:12]}..., not the {str(metadata.get('weights_sha256'))[:12]}"
            "... that metadata.json gives (a damaged or replaced file)",
            _FIX,
        )
    config_path = os.path.join(directory, CONFIG_FILE)
    config = read_json(config_path, fix=_FIX)
    if not isinstance(config, dict) or "class_name" not in config:
        raise DamagedFileError(config_path, "not a Keras model's configuration", _FIX)
    model = _rebuild(config)
    model.load_weights(weights)
    if "compile_config" in config:
        # After the weights: an optimizer built before them would expect its own state in the file.
        model.compile_from_config(config["compile_config"])
    return model
