"""Figures of images: reconstructions and samples from the prior.

Example:

```python
reconstructions_figure(vae, x_test[:10]).savefig("reconstructions.png")
samples_figure(vae, rows=8, cols=8, seed=0).savefig("samples.png")
```
"""

import keras
import numpy as np
from matplotlib.figure import Figure

from vae_tf.latent import prior_codes
from vae_tf.plotting.drawing import decode
from vae_tf.plotting.drawing import imshow
from vae_tf.plotting.drawing import name_tiles
from vae_tf.plotting.drawing import strip_axes
from vae_tf.utils.images import tile_images


def reconstructions_figure(model, images, labels=None):
    """A row of original images over the row of their reconstructions.

    Reconstructions decode the posterior means, as probabilities in [0, 1].
    `labels` only for a conditional VAE.
    """
    images = np.asarray(images, "float32")
    reconstructions = keras.ops.convert_to_numpy(model.reconstruct(images, labels))
    n = len(images)
    fig = Figure(figsize=(1.1 * n, 3))
    strip_axes(
        fig,
        2,
        [tile_images(images, 1, n), tile_images(reconstructions, 1, n)],
        ["original", "reconstruction"],
        "Reconstructions (decoded posterior means)",
    )
    return fig


def samples_figure(model, rows=8, cols=8, seed=0):
    """A `rows x cols` grid of images decoded from codes drawn from the prior (N(0, I)).

    For a conditional VAE, one row per class (`rows` is then the number of
    classes), each with `cols` random styles of that class.
    """
    labels = None
    if model.conditional:
        rows = model.num_classes
        labels = np.repeat(np.arange(rows), cols)
    z = prior_codes(model, rows * cols, seed, labels)
    images = decode(model, z, labels)
    fig = Figure(figsize=(0.9 * cols + 0.6, 0.9 * rows + 0.6))
    ax = fig.add_subplot()
    imshow(ax, tile_images(images, rows, cols), interpolation="nearest")
    ax.set_xticks([])
    if model.conditional:
        name_tiles(ax, "y", images.shape[1], [str(r) for r in range(rows)])
        ax.set_ylabel("label")
        ax.set_title(f"{cols} samples from the prior {model.prior.notation} for each label")
    else:
        ax.set_yticks([])
        ax.set_title(f"{rows * cols} samples from the prior {model.prior.notation}")
    return fig
