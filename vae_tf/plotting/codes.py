"""Figures of a VQ-VAE's discrete codes: how its codebook is used, and the code maps of images.

Example:

```python
codebook_usage_figure(vq_vae, x_test).savefig("codebook_usage.png")
code_maps_figure(vq_vae, x_test[:6]).savefig("code_maps.png")
```
"""

import keras
import numpy as np
from matplotlib.figure import Figure

from vae_tf.latent import encode_means
from vae_tf.metrics.codebook import code_counts
from vae_tf.metrics.codebook import codebook_perplexity
from vae_tf.plotting.drawing import imshow


def codebook_usage_figure(model, images, labels=None):
    """A histogram of the codes chosen over the code maps of `images`, most used first.

    The title gives the perplexity of the use (exp of its entropy, out of
    K) and how many codes are used at all.
    """
    indices = encode_means(model, images, labels)
    counts = code_counts(indices, model.codebook_size)
    order = np.argsort(-counts, kind="stable")
    share = counts[order] / counts.sum()
    fig = Figure(figsize=(8, 3.2))
    ax = fig.add_subplot()
    ax.bar(np.arange(len(share)), share, width=1.0, color="tab:blue")
    ax.set_yscale("log")
    ax.set_xlim(-0.5, len(share) - 0.5)
    ax.set_xlabel(f"codes, most used first ({model.codebook_size} in the codebook)")
    ax.set_ylabel("share of positions")
    used = int(np.sum(counts > 0))
    ax.set_title(
        f"Codebook use over {len(indices):,} images x {indices[0].size} positions: "
        f"perplexity {codebook_perplexity(counts):.1f}, {used} codes used"
    )
    return fig


def code_maps_figure(model, images, labels=None):
    """Each image, its map of code indices (a cell per code, its index written), its reconstruction.

    The cells' colours follow the indices, so that a code repeated across
    the images reads as one colour.
    """
    images = np.asarray(images, "float32")
    indices = encode_means(model, images, labels)
    reconstructions = keras.ops.convert_to_numpy(model.decode(indices, labels))
    count = len(images)
    fig = Figure(figsize=(6.6, 2.2 * count))
    axes = fig.subplots(count, 3, squeeze=False)
    height, width = model.code_shape
    small = height * width <= 100  # room for the numbers
    for row, (image, code_map, reconstruction) in enumerate(zip(images, indices, reconstructions)):
        original, cells, decoded = axes[row]
        imshow(original, image, interpolation="nearest")
        cells.imshow(
            code_map % 20, cmap="tab20", vmin=0, vmax=19, interpolation="nearest", alpha=0.55
        )
        if small:
            for (y, x), index in np.ndenumerate(code_map):
                cells.text(x, y, str(index), ha="center", va="center", fontsize=6)
        imshow(decoded, reconstruction, interpolation="nearest")
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    for ax, title in zip(axes[0], ("image", f"code map ({height}x{width})", "decoded")):
        ax.set_title(title)
    fig.suptitle("Code maps: the index of the nearest codebook vector at each position")
    return fig
