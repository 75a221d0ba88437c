"""Finding and loading a preset: by name, by folder, or from the Hugging Face Hub.

- `list_presets()`: the names of the presets shipped in the package.
- `preset_directory(preset)`: the local folder of a name, a folder or an
  `hf://owner/name` repository (downloaded once by huggingface_hub).
- `from_preset(preset)`: its model, ready to encode, decode, sample and
  evaluate; `metadata(preset)`: what it is and its measured numbers.
- `preset_saved_model(preset)`: its SavedModel, exported once into the cache.

Example:

```python
vae = vae_tf.from_preset("mnist_conv_latent2")
digits = vae.decode([[0.0, 0.0], [1.5, -0.5]])
vae_tf.presets.metadata("mnist_conv_latent2")["evaluation"]["nll"]
```
"""

import os
import re

from vae_tf.export import export_saved_model
from vae_tf.presets.catalog import SHIPPED_PRESETS
from vae_tf.runs.preset_files import load_preset_model
from vae_tf.runs.preset_files import read_checked_metadata
from vae_tf.runs.preset_files import read_metadata
from vae_tf.utils.files import cache_dir
from vae_tf.utils.files import folder_name

# The package's own presets, a folder each.
SHIPPED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shipped")
HUB_PREFIX = "hf://"
_REPOSITORY = re.compile(r"^[\w.-]+/[\w.-]+$")


def list_presets():
    """The names of the presets shipped in the package, sorted."""
    return sorted(SHIPPED_PRESETS)


def preset_directory(preset):
    """The local folder of `preset`: a shipped name, a preset folder, or `hf://owner/name`.

    A name of `list_presets()` wins over a folder of the same name in the
    working directory (write `./name` for the folder).

    Raises:
        ValueError: for an unknown name (listing the known ones) or a
            malformed `hf://` address.
        FileNotFoundError: for a path that is not a folder.
        ImportError: for `hf://` without huggingface_hub installed.
    """
    preset = os.fspath(preset)
    if preset.startswith(HUB_PREFIX):
        return _download(preset[len(HUB_PREFIX) :])
    if preset.rstrip("/" + os.sep) in SHIPPED_PRESETS:
        return os.path.join(SHIPPED_DIR, preset.rstrip("/" + os.sep))
    preset = os.path.expanduser(preset)
    if os.path.isdir(preset):
        return preset
    if os.sep in preset or "/" in preset or preset.startswith("."):
        raise FileNotFoundError(f"No preset folder {preset}: it does not exist.")
    raise ValueError(
        f"Unknown preset {preset!r}. The presets are: {', '.join(list_presets())}; or give a "
        f"preset folder (vae_tf.presets.save_preset writes one) or {HUB_PREFIX}owner/name."
    )


def _download(repository):
    """The local copy of a preset on the Hugging Face Hub (huggingface_hub keeps it cached)."""
    if not _REPOSITORY.match(repository):
        raise ValueError(
            f"{HUB_PREFIX}{repository} is not a Hugging Face Hub repository: write "
            f"{HUB_PREFIX}owner/name."
        )
    try:
        import huggingface_hub
    except ImportError:
        raise ImportError(
            f"Reading the preset {HUB_PREFIX}{repository} needs huggingface_hub, which is not "
            "installed: pip install huggingface_hub (or download the repository's files into a "
            "folder and give the folder)."
        ) from None
    return huggingface_hub.snapshot_download(repo_id=repository)


def from_preset(preset):
    """The model of a preset, with its weights, compiled as it trained.

    Args:
        preset: A name of `list_presets()`, a folder written by
            `save_preset`, or `hf://owner/name` (with huggingface_hub).

    Returns:
        The model (a `vae_tf.VAE`, `VQVAE`, ...): `encode`, `decode`,
        `sample`, `fit` and `evaluate` work as on the run's own model.

    Raises:
        ValueError: for an unknown name, listing the known ones.
        FileNotFoundError: naming the file a folder lacks.
        vae_tf.DamagedFileError: for weights that fail their hash, naming the file.
        PresetVersionError: for a preset written by a newer vae_tf, naming the version.

    Example:

    >>> vae = from_preset("mnist_conv_latent2")
    >>> vae.decode([[0.0, 0.0]]).shape
    TensorShape([1, 28, 28, 1])
    """
    return load_preset_model(preset_directory(preset))


def metadata(preset):
    """A preset's metadata: description, dataset, parameter count, settings, numbers, command.

    Keys: `name`, `description`, `dataset`, `model` (the `--model` variant),
    `class_name`, `conditional`, `parameter_count`, `settings` (every
    `TrainConfig` field), `command` (the train.py command that gives them),
    `versions` (vae_tf, TensorFlow and Keras that trained it), `training`
    (the run's config.json "training": epochs, seconds, best epoch; None for
    a run that did not record it), `evaluation` (`evaluate_run`'s figures in
    nats: `elbo`, `nll`, `nll_standard_error`, `k`, `num_examples`,
    `active_units`, and `fid`, `precision`, `recall` or the disentanglement
    metrics where they apply; None if not measured), `check` (the small
    slice's figures), `date`, `config_sha256`, `weights_sha256`,
    `weights_bytes`, `vae_tf_version` (the writer's), `reader_version` (the
    least vae_tf that reads it) and `preset_format`.
    """
    return read_metadata(preset_directory(preset))


def preset_saved_model(preset):
    """The path of a preset's SavedModel (`vae_tf.export`), exported once into the cache.

    Kept in `vae_tf.utils.files.cache_dir("presets")`, under the preset's
    name and weights hash, so that a changed preset gets its own.
    """
    directory = preset_directory(preset)
    info = read_checked_metadata(directory)  # a cached export must not hide damaged files
    path = cache_dir(
        "presets", f"{folder_name(directory)}-{info['weights_sha256'][:12]}", "saved_model"
    )
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        export_saved_model(load_preset_model(directory), path)
    return path
