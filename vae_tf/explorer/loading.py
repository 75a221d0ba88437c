"""An explorer from what a user has: a run directory, or a SavedModel (and images).

The model's codes choose the page (`explorer_for`): flat codes get the
latent-space explorer (`api.Explorer`), a VQ-VAE's maps of codebook indices
the code grid (`code_grid.CodeGridExplorer`).

Example:

```python
explorer = explorer_from_run("runs/conv_latent2_20261122-231700")
explorer = explorer_from_saved_model("exported/saved_model", images="my_test.npz")
```
"""

import os

from vae_tf.data import load_npz
from vae_tf.explorer.api import Explorer
from vae_tf.explorer.backends import KerasBackend
from vae_tf.explorer.backends import SavedModelBackend
from vae_tf.explorer.code_grid import CodeGridExplorer
from vae_tf.explorer.code_grid import has_index_maps
from vae_tf.runs import load_run
from vae_tf.runs import read_config
from vae_tf.runs import split_images
from vae_tf.utils.files import folder_name


def _run_images(run_dir, count):
    return split_images(read_config(run_dir), "test", count=count)


def _npz_images(path, count):
    (x_train, y_train), (x_test, y_test) = load_npz(path)
    images, labels = (x_test, y_test) if len(x_test) else (x_train, y_train)
    return images[:count], None if labels is None else labels[:count]


def explorer_for(backend, images=None, labels=None, name="model"):
    """The explorer of `backend`'s codes: a `CodeGridExplorer` for index maps, else an `Explorer`.

    Example: `explorer_for(KerasBackend(model), x_test[:500], y_test[:500])`.
    """
    page = CodeGridExplorer if has_index_maps(backend) else Explorer
    return page(backend, images, labels, name=name)


def explorer_from_run(run_dir, num_images=2000):
    """The explorer of a finished run: its model and its first `num_images` test images."""
    model = load_run(run_dir).model
    images, labels = _run_images(run_dir, num_images)
    return explorer_for(KerasBackend(model), images, labels, name=folder_name(run_dir))


def explorer_from_saved_model(path, images=None, num_images=2000):
    """The explorer of a SavedModel, driven through its endpoints alone.

    Args:
        path: The SavedModel directory (`RUN/saved_model`).
        images: An .npz file of images (and labels) to encode for the map and
            the strip, in the format `--dataset=FILE.npz` takes; by default the
            test images of the run directory holding `path`, if it is one.
            Without either, the page has the latent plane and the sliders (or
            the code grid, from prior samples) but no encoded images.
        num_images: How many of them to encode.
    """
    backend = SavedModelBackend(path)
    run_dir = os.path.dirname(os.path.abspath(path))
    if images is not None:
        x, y = _npz_images(images, num_images)
    elif os.path.isfile(os.path.join(run_dir, "config.json")):
        x, y = _run_images(run_dir, num_images)
    else:
        x, y = None, None
    if x is not None and tuple(x.shape[1:]) != backend.image_shape:
        raise ValueError(
            f"The images have shape {tuple(x.shape[1:])} but the model takes "
            f"{backend.image_shape}: pass images of the data it was trained on."
        )
    if backend.num_classes and x is not None and y is None:
        raise ValueError(
            "This SavedModel is conditional and its images have no labels: pass an .npz "
            "with y_test (or y_train)."
        )
    # A run's SavedModel is named after its run.
    name = folder_name(run_dir if folder_name(path) == "saved_model" else path)
    return explorer_for(backend, x, y, name=name)


def load_explorer(run_dir=None, saved_model=None, images=None, num_images=2000):
    """The explorer of a run directory or of a SavedModel (exactly one of them).

    `images` (an .npz) is for a SavedModel; a run uses its own test images.
    """
    if (run_dir is None) == (saved_model is None):
        raise ValueError("Give one of run_dir=RUN or saved_model=RUN/saved_model.")
    if run_dir is not None:
        if images is not None:
            raise ValueError(
                "images=FILE.npz is for saved_model=...; a run uses its own test images."
            )
        return explorer_from_run(run_dir, num_images)
    return explorer_from_saved_model(saved_model, images, num_images)
