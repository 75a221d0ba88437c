"""Figures of a VAE. Every function returns a `matplotlib.figure.Figure`.

Figures are built without pyplot, so nothing needs a display and no global
figure state leaks between calls; save them with `fig.savefig(path)` (or
`save_figure`), or let Jupyter show them.

Example:

```python
fig = latent_grid_figure(vae, n=30, z_range=(-2, 2))
fig.savefig("latent_grid.png")
```
"""

import os

import keras
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

LOSS_METRICS = (
    ("total_loss", "Total (negative ELBO)"),
    ("reconstruction_loss", "Reconstruction"),
    ("kl_loss", "KL divergence"),
)


def save_figure(fig, path, dpi=100):
    """Saves `fig` as `path` (format from the extension) and returns the path."""
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def tile_images(images, rows, cols):
    """Arranges `rows * cols` images `(N, H, W, C)` into one `(rows*H, cols*W, C)` array."""
    images = np.asarray(images)
    n, height, width, channels = images.shape
    if n != rows * cols:
        raise ValueError(f"Need {rows * cols} images for a {rows}x{cols} grid; got {n}.")
    grid = images.reshape(rows, cols, height, width, channels)
    return grid.transpose(0, 2, 1, 3, 4).reshape(rows * height, cols * width, channels)


def _imshow(ax, image, **kwargs):
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0, **kwargs)
    else:
        ax.imshow(np.clip(image, 0.0, 1.0), **kwargs)


def latent_grid_coordinates(n=30, z_range=(-2.0, 2.0)):
    """The `(n * n, 2)` latent codes of the grid, row by row from the top-left.

    Rows go from the highest `z[1]` (top) to the lowest; columns from the
    lowest `z[0]` (left) to the highest, as on a plot's axes.
    """
    low, high = z_range
    z0 = np.linspace(low, high, n)
    z1 = np.linspace(high, low, n)
    grid = np.stack(np.meshgrid(z0, z1), axis=-1)
    return grid.reshape(-1, 2).astype("float32")


def latent_grid_figure(model, n=30, z_range=(-2.0, 2.0), figsize=10):
    """Decodes an `n x n` grid over a 2-D latent space in ONE decoder call.

    Args:
        model: A `vae_tf.VAE` with `latent_dim == 2`.
        n: Images per side.
        z_range: `(low, high)` of both latent coordinates.
        figsize: Width and height of the figure, in inches.

    Returns:
        A Figure whose axes are in latent units: the image centred at a
        tick's value was decoded from that value of `z[0]` or `z[1]`.
    """
    if model.latent_dim != 2:
        raise ValueError(
            f"The latent grid needs a 2-D latent space; this model has "
            f"latent_dim={model.latent_dim}."
        )
    if n < 2:
        raise ValueError(f"The latent grid needs n >= 2 images per side; got n={n}.")
    low, high = z_range
    if not low < high:
        raise ValueError(f"z_range must be (low, high) with low < high; got {z_range}.")
    z = latent_grid_coordinates(n, z_range)
    images = keras.ops.convert_to_numpy(model.decode(z))
    canvas = tile_images(images, n, n)
    half_step = (high - low) / (n - 1) / 2
    fig = Figure(figsize=(figsize, figsize))
    ax = fig.add_subplot()
    _imshow(
        ax,
        canvas,
        extent=(low - half_step, high + half_step, low - half_step, high + half_step),
        interpolation="nearest",
    )
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title(f"Decoded latent grid ({n} x {n})")
    return fig


def loss_curves_figure(history):
    """Training (and validation) curves of total, reconstruction and KL losses.

    Args:
        history: A `keras.callbacks.History` or its `.history` dict
            (`{"total_loss": [...], "val_total_loss": [...], ...}`).

    Returns:
        A Figure with one panel per loss, in nats per example.
    """
    history = getattr(history, "history", history)
    fig = Figure(figsize=(15, 4.2))
    axes = fig.subplots(1, len(LOSS_METRICS))
    for ax, (key, title) in zip(axes, LOSS_METRICS):
        for prefix, label, style in (("", "train", "-"), ("val_", "validation", "--")):
            values = history.get(prefix + key)
            if values:
                epochs = np.arange(1, len(values) + 1)
                ax.plot(epochs, values, style, marker="o", markersize=3, label=label)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("nats per example")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def save_model_diagram(model, path):
    """Draws `model` with `keras.utils.plot_model` into `path` (a .png).

    Without Graphviz (the `dot` program) nothing can be rendered: the diagram's
    Graphviz source is written beside it as `.dot` instead, and a hint is
    printed.

    Returns:
        The path of the file written.
    """
    try:
        keras.utils.plot_model(
            model, to_file=path, show_shapes=True, show_layer_names=True, dpi=96
        )
    except ImportError:
        pass  # Outside IPython plot_model raises; inside it only prints.
    if os.path.exists(path):
        return path
    dot_path = os.path.splitext(path)[0] + ".dot"
    dot = keras.utils.model_to_dot(model, show_shapes=True, show_layer_names=True)
    with open(dot_path, "w") as f:
        f.write(dot.to_string())
    print(
        f"Graphviz not found: wrote {dot_path} instead of {os.path.basename(path)}"
        " (install Graphviz, e.g. `apt-get install graphviz`, to get PNGs)."
    )
    return dot_path
