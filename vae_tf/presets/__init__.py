"""Pretrained models by name, as KerasHub's presets: nothing to train before decoding.

- `from_preset(name_or_folder)`: the model, ready to encode, decode, sample
  and evaluate (`vae_tf.from_preset` too).
- `list_presets()`: the names shipped in the package (docs/presets.md has
  the table: what each is, its size, its numbers, its command).
- `metadata(name)`: description, dataset, parameter count, settings, the
  measured numbers (ELBO, NLL with its K and standard error, active units,
  FID or the disentanglement metrics), the train.py command, the versions.
- `save_preset(run_dir, out_dir)`: a run as a preset folder to share;
  `from_preset` reads the folder, or `hf://owner/name` on the Hugging Face
  Hub (with huggingface_hub installed).
- `make_preset(name, runs_dir, out_dir)`: a shipped preset made again from
  its recipe (`scripts/make_presets.py`).

A preset's folder holds KerasHub's files: config.json (the Keras config),
model.weights.h5 and metadata.json (`vae_tf.runs.preset_files`). A preset
folder also reads as a finished run: `load_run`, `evaluate_run` and the
scripts' `--preset` take it.

Example:

```python
import vae_tf

vae = vae_tf.from_preset("mnist_conv_latent2")
images = vae.decode([[0.0, 0.0], [1.0, -1.0]])            # (2, 28, 28, 1) in [0, 1]
vae_tf.presets.metadata("mnist_conv_latent2")["command"]  # 'python scripts/train.py --latent_dim=2'
```
"""

from vae_tf.presets.catalog import SHIPPED_PRESETS
from vae_tf.presets.loading import from_preset
from vae_tf.presets.loading import list_presets
from vae_tf.presets.loading import metadata
from vae_tf.presets.loading import preset_directory
from vae_tf.presets.loading import preset_saved_model
from vae_tf.presets.making import make_preset
from vae_tf.presets.making import presets_table
from vae_tf.presets.making import save_preset
from vae_tf.presets.making import slice_figures
from vae_tf.runs.preset_files import PRESET_FILES
from vae_tf.runs.preset_files import PresetVersionError

__all__ = [
    "PRESET_FILES",
    "PresetVersionError",
    "SHIPPED_PRESETS",
    "from_preset",
    "list_presets",
    "make_preset",
    "metadata",
    "preset_directory",
    "preset_saved_model",
    "presets_table",
    "save_preset",
    "slice_figures",
]
