"""Drawing helpers shared by the figures: images on axes, ticks on tiles, saving.

Tiling images into one is `vae_tf.utils.images.tile_images`.

Example:

```python
fig = Figure()
imshow(fig.add_subplot(), tile_images(images, 4, 4), interpolation="nearest")
save_figure(fig, "grid.png")
```
"""

import keras
import numpy as np

from vae_tf.utils.files import atomic_path


def save_figure(fig, path, dpi=100):
    """Saves `fig` as `path` (format from the extension) and returns the path.

    The file is written under a temporary name and renamed, so an existing
    figure is replaced whole or not at all.
    """
    with atomic_path(path) as partial:
        fig.savefig(partial, dpi=dpi, bbox_inches="tight")
    return path


def decode(model, z, labels=None):
    """Decoded images of codes `z` as a numpy array, in one batched call."""
    return keras.ops.convert_to_numpy(model.decode(np.asarray(z, model.code_dtype), labels))


def imshow(ax, image, **kwargs):
    """Shows one image `(H, W, C)`: grey on a fixed [0, 1] scale, colour clipped to [0, 1]."""
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0, **kwargs)
    else:
        ax.imshow(np.clip(image, 0.0, 1.0), **kwargs)


def name_tiles(ax, axis, tile_size, names, indices=None):
    """Ticks at the centres of the tiles `indices` (default: all) along `axis`."""
    indices = np.arange(len(names)) if indices is None else np.asarray(indices)
    positions = (indices + 0.5) * tile_size - 0.5
    (ax.set_xticks if axis == "x" else ax.set_yticks)(positions, names)


def label_tiles(ax, axis, tile_size, values, count=5):
    """Puts `count` ticks at tile centres along `axis`, labelled with `values`."""
    indices = np.unique(np.linspace(0, len(values) - 1, count).round().astype(int))
    name_tiles(ax, axis, tile_size, [f"{values[i]:.2f}" for i in indices], indices)


def strip_axes(fig, rows, strips, row_labels, title=None):
    """One axes per row, each showing a horizontal strip of images."""
    axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
    for ax, strip, label in zip(axes, strips, row_labels):
        imshow(ax, strip, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    return axes


def need_conditional(model, what):
    """Raises ValueError unless `model` is conditional; `what` names the figure."""
    if not model.conditional:
        raise ValueError(f"{what} needs a conditional VAE (trained with labels).")
