"""Figures of conditional VAEs: the style grid and the analogies.

Example:

```python
style_grid_figure(cvae, rows=6).savefig("style_grid.png")
analogies_figure(cvae, x_test[:10], y_test[:10]).savefig("analogies.png")
```
"""

import numpy as np
from matplotlib.figure import Figure

from vae_tf.latent import encode_means
from vae_tf.latent import prior_codes
from vae_tf.plotting.drawing import decode
from vae_tf.plotting.drawing import imshow
from vae_tf.plotting.drawing import name_tiles
from vae_tf.plotting.drawing import need_conditional
from vae_tf.plotting.drawing import tile_images


def style_grid_figure(model, rows=6, seed=0):
    """Conditional VAE: the same z (a row) drawn with every label (columns).

    Each row keeps one handwriting (stroke width, slant) across all classes:
    the label carries the class, z the style.
    """
    need_conditional(model, "The style grid")
    classes = model.num_classes
    z = prior_codes(model, rows, seed)
    images = decode(model, np.repeat(z, classes, axis=0), np.tile(np.arange(classes), rows))
    height, width = images.shape[1:3]
    fig = Figure(figsize=(0.9 * classes + 1.0, 0.9 * rows + 0.8))
    ax = fig.add_subplot()
    imshow(ax, tile_images(images, rows, classes), interpolation="nearest")
    name_tiles(ax, "x", width, [str(c) for c in range(classes)])
    name_tiles(ax, "y", height, [f"z #{r + 1}" for r in range(rows)])
    ax.set_xlabel("label")
    ax.set_title("Style grid: one z per row (one handwriting), every label across")
    return fig


def analogies_figure(model, images, labels):
    """Conditional VAE: real images (first column) re-drawn with every label.

    Each image is encoded with its own label; its posterior mean (its style)
    is then decoded with each class in turn.
    """
    need_conditional(model, "The analogies figure")
    images = np.asarray(images, "float32")
    classes = model.num_classes
    z = encode_means(model, images, labels)
    decoded = decode(model, np.repeat(z, classes, axis=0), np.tile(np.arange(classes), len(z)))
    decoded = decoded.reshape(len(z), classes, *decoded.shape[1:])
    rows = np.concatenate([images[:, None], decoded], axis=1).reshape(-1, *images.shape[1:])
    width = images.shape[2]
    fig = Figure(figsize=(0.9 * (classes + 1) + 1.0, 0.9 * len(z) + 0.8))
    ax = fig.add_subplot()
    imshow(ax, tile_images(rows, len(z), classes + 1), interpolation="nearest")
    name_tiles(ax, "x", width, ["real"] + [str(c) for c in range(classes)])
    ax.set_yticks([])
    ax.axvline(width - 0.5, color="red", linewidth=1.5)
    ax.set_xlabel("label used to decode the real image's code")
    ax.set_title("Analogies: the style of each real digit, drawn as every digit")
    return fig
