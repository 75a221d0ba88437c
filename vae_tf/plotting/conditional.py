"""Figures of conditional VAEs: the style grid, the analogies, the class interpolations.

Example:

```python
style_grid_figure(cvae, rows=6).savefig("style_grid.png")
analogies_figure(cvae, x_test[:10], y_test[:10]).savefig("analogies.png")
class_interpolation_figure(cvae, x_test, y_test).savefig("class_interpolation.png")
```
"""

import numpy as np
from matplotlib.figure import Figure

from vae_tf.latent import encode_means
from vae_tf.latent import lerp
from vae_tf.latent import prior_codes
from vae_tf.plotting.drawing import decode
from vae_tf.plotting.drawing import imshow
from vae_tf.plotting.drawing import name_tiles
from vae_tf.plotting.drawing import need_conditional
from vae_tf.plotting.drawing import strip_axes
from vae_tf.utils.images import tile_images


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


def _pairs_of_classes(labels, pairs, rng):
    """Indices `(starts, ends)` of `pairs` images whose two labels differ."""
    starts, ends = [], []
    for start in rng.permutation(len(labels)):
        others = np.flatnonzero(labels != labels[start])
        if len(others):
            starts.append(start)
            ends.append(rng.choice(others))
        if len(starts) == pairs:
            return np.array(starts), np.array(ends)
    raise ValueError("The class interpolations need images of at least two classes.")


def decode_mixed(model, z, weights):
    """Images of codes `z` drawn under label vectors `weights` `(N, classes)`, rows summing to 1.

    A one-hot row is an ordinary label; `(1 - t) e_a + t e_b` lies between
    classes a and b, a vector the decoder never saw in training.
    """
    condition = np.asarray(weights, "float32")
    z = np.asarray(z, "float32")
    return np.asarray(model.probabilities(model.raw_decode(z, condition)))


def class_interpolation_figure(model, images, labels, pairs=3, steps=10, seed=0):
    """Conditional VAE: moving between classes, with the style held and with the codes moving.

    For each of `pairs` pairs of real images of different classes a and b:

    - "style held": the first image's code (its posterior mean, its style)
      decoded while the label vector moves from one-hot a to one-hot b
      through the mixed vectors `(1 - t) e_a + t e_b`;
    - "codes and label": the path from the first image's code to the
      second's (each encoded with its own label), the label vector moving
      with it, the real images at both ends.
    """
    need_conditional(model, "The class interpolation figure")
    images = np.asarray(images, "float32")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    starts, ends = _pairs_of_classes(labels, pairs, rng)
    pairs = len(starts)
    z_start = encode_means(model, images[starts], labels[starts])
    z_end = encode_means(model, images[ends], labels[ends])
    t = np.linspace(0.0, 1.0, steps)
    one_hot = np.eye(model.num_classes, dtype="float32")
    # (pairs, steps, classes): the label vector along each path.
    weights = (1 - t)[None, :, None] * one_hot[labels[starts]][:, None] + (
        t[None, :, None] * one_hot[labels[ends]][:, None]
    )
    held = decode_mixed(model, np.repeat(z_start, steps, axis=0), weights.reshape(-1, len(one_hot)))
    moving = decode_mixed(
        model,
        lerp(z_start, z_end, t).reshape(-1, model.latent_dim),
        weights.reshape(-1, len(one_hot)),
    )
    shape = images.shape[1:]
    held, moving = held.reshape(pairs, steps, *shape), moving.reshape(pairs, steps, *shape)
    blank = np.zeros((1, *shape), "float32")  # the style row has no second real image
    strips, row_labels = [], []
    for i in range(pairs):
        a, b = labels[starts[i]], labels[ends[i]]
        first, last = images[starts[i] : starts[i] + 1], images[ends[i] : ends[i] + 1]
        strips.append(tile_images(np.concatenate([first, held[i], blank]), 1, steps + 2))
        row_labels.append(f"style held\n{a} → {b}")
        strips.append(tile_images(np.concatenate([first, moving[i], last]), 1, steps + 2))
        row_labels.append(f"codes and label\n{a} → {b}")
    fig = Figure(figsize=(1.0 * (steps + 2) + 1.0, 1.15 * 2 * pairs + 0.6))
    strip_axes(
        fig,
        2 * pairs,
        strips,
        row_labels,
        "Between classes: the label vector moves from one class to the other (real images "
        "at the ends)",
    )
    return fig
