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

import importlib.util
import os
import statistics

import keras
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from vae_tf import losses
from vae_tf._files import atomic_path

LOSS_METRICS = (
    ("total_loss", "Total (negative ELBO)"),
    ("reconstruction_loss", "Reconstruction"),
    ("kl_loss", "KL divergence"),
)


def save_figure(fig, path, dpi=100):
    """Saves `fig` as `path` (format from the extension) and returns the path.

    The file is written under a temporary name and renamed, so an existing
    figure is replaced whole or not at all.
    """
    with atomic_path(path) as partial:
        fig.savefig(partial, dpi=dpi, bbox_inches="tight")
    return path


def tile_images(images, rows, cols):
    """Arranges `rows * cols` images `(N, H, W, C)` into one `(rows*H, cols*W, C)` array."""
    images = np.asarray(images)
    n, height, width, channels = images.shape
    if n != rows * cols:
        raise ValueError(f"Need {rows * cols} images for a {rows}x{cols} grid; got {n}.")
    grid = images.reshape(rows, cols, height, width, channels)
    return grid.transpose(0, 2, 1, 3, 4).reshape(rows * height, cols * width, channels)


def _decode(model, z, labels=None):
    """Decoded images as a numpy array, in one batched call."""
    return keras.ops.convert_to_numpy(model.decode(np.asarray(z, "float32"), labels))


def _imshow(ax, image, **kwargs):
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0, **kwargs)
    else:
        ax.imshow(np.clip(image, 0.0, 1.0), **kwargs)


def grid_axis_values(n=30, z_range=(-2.0, 2.0), spacing="linear"):
    """The `n` latent values along one side of the grid, lowest first.

    Args:
        n: Images per side (at least 2).
        z_range: With `spacing="linear"`, the `(low, high)` latent values.
            With `spacing="quantile"`, the `(low, high)` probabilities, in
            (0, 1), whose standard-normal quantiles span the grid (Kingma &
            Welling's manifold plots use (0.05, 0.95)).
        spacing: `"linear"` (evenly spaced in z) or `"quantile"` (evenly
            spaced in probability under the N(0, 1) prior).
    """
    if n < 2:
        raise ValueError(f"The latent grid needs n >= 2 images per side; got n={n}.")
    low, high = z_range
    if not low < high:
        raise ValueError(f"z_range must be (low, high) with low < high; got {z_range}.")
    if spacing == "linear":
        return np.linspace(low, high, n)
    if spacing == "quantile":
        if not 0.0 < low < high < 1.0:
            raise ValueError(
                "With quantile spacing, z_range holds probabilities: 0 < low < "
                f"high < 1 (e.g. (0.05, 0.95)); got {z_range}."
            )
        normal = statistics.NormalDist()
        return np.array([normal.inv_cdf(p) for p in np.linspace(low, high, n)])
    raise ValueError(f"spacing must be 'linear' or 'quantile'; got {spacing!r}.")


def latent_grid_coordinates(n=30, z_range=(-2.0, 2.0), spacing="linear"):
    """The `(n * n, 2)` latent codes of the grid, row by row from the top-left.

    Rows go from the highest `z[1]` (top) to the lowest; columns from the
    lowest `z[0]` (left) to the highest, as on a plot's axes.
    """
    values = grid_axis_values(n, z_range, spacing)
    grid = np.stack(np.meshgrid(values, values[::-1]), axis=-1)
    return grid.reshape(-1, 2).astype("float32")


def _name_tiles(ax, axis, tile_size, names, indices=None):
    """Ticks at the centres of the tiles `indices` (default: all) along `axis`."""
    indices = np.arange(len(names)) if indices is None else np.asarray(indices)
    positions = (indices + 0.5) * tile_size - 0.5
    (ax.set_xticks if axis == "x" else ax.set_yticks)(positions, names)


def _label_tiles(ax, axis, tile_size, values, count=5):
    """Puts `count` ticks at tile centres along `axis`, labelled with `values`."""
    indices = np.unique(np.linspace(0, len(values) - 1, count).round().astype(int))
    _name_tiles(ax, axis, tile_size, [f"{values[i]:.2f}" for i in indices], indices)


def latent_grid_figure(
    model, n=30, z_range=(-2.0, 2.0), spacing="linear", figsize=10, label=None
):
    """Decodes an `n x n` grid over a 2-D latent space in ONE decoder call.

    Args:
        model: A `vae_tf.VAE` with `latent_dim == 2`.
        n: Images per side.
        z_range: Latent range, or probability range with quantile spacing
            (see `grid_axis_values`).
        spacing: `"linear"` or `"quantile"`.
        figsize: Width and height of the figure, in inches.
        label: For a conditional VAE, the class drawn across the grid.

    Returns:
        A Figure whose tick labels give the latent value `z[0]` or `z[1]` at
        which the image under (or beside) the tick was decoded.
    """
    if model.latent_dim != 2:
        raise ValueError(
            f"The latent grid needs a 2-D latent space; this model has "
            f"latent_dim={model.latent_dim}. Use the latent traversal instead."
        )
    values = grid_axis_values(n, z_range, spacing)
    z = latent_grid_coordinates(n, z_range, spacing)
    images = _decode(model, z, label)
    height, width = images.shape[1:3]
    fig = Figure(figsize=(figsize, figsize))
    ax = fig.add_subplot()
    _imshow(ax, tile_images(images, n, n), interpolation="nearest")
    _label_tiles(ax, "x", width, values)
    _label_tiles(ax, "y", height, values[::-1])
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    spacing_text = "Gaussian quantiles" if spacing == "quantile" else "linear in z"
    digit = "" if label is None else f", label {label}"
    ax.set_title(f"Decoded latent grid ({n} x {n}, {spacing_text}{digit})")
    return fig


def loss_curves_figure(history, units="nats per example"):
    """Training (and validation) curves of total, reconstruction and KL losses.

    When the history holds a varying `kl_weight` (KL warm-up, cyclical
    annealing), the KL panel also shows it, on its own axis.

    Args:
        history: A `keras.callbacks.History` or its `.history` dict
            (`{"total_loss": [...], "val_total_loss": [...], ...}`).
        units: Label of the loss axes (not nats for the "mse" objective).

    Returns:
        A Figure with one panel per loss.
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
        ax.set_ylabel(units)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left" if key == "kl_loss" else "best")
    weights = history.get("kl_weight")
    if weights and min(weights) != max(weights):
        weight_ax = axes[-1].twinx()
        epochs = np.arange(1, len(weights) + 1)
        weight_ax.plot(epochs, weights, ":", color="gray", label="KL weight (mean of epoch)")
        weight_ax.set_ylabel("KL weight")
        weight_ax.set_ylim(bottom=0)
        weight_ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def encode_batches(model, images, labels=None, batch_size=256):
    """`(z_mean, z_log_var)` of `images` as numpy, encoded `batch_size` at a time.

    `labels` only for a conditional VAE. An `Autoencoder` gives `(z, None)`.
    """
    images = np.asarray(images, "float32")
    parts = []
    for start in range(0, len(images), batch_size):
        part_labels = None if labels is None else np.asarray(labels)[start : start + batch_size]
        parts.append(model.encode(images[start : start + batch_size], part_labels))
    return tuple(
        None if column[0] is None
        else np.concatenate([keras.ops.convert_to_numpy(part) for part in column])
        for column in zip(*parts)
    )


def encode_means(model, images, labels=None):
    """Posterior means `z_mean` of `images` as numpy (`labels` if conditional)."""
    return encode_batches(model, images, labels)[0]


def pca(points, components=2):
    """Projects `points` `(N, D)` on their first principal components.

    Returns:
        `(projection (N, components), explained variance ratios (components,))`.
    """
    centered = points - points.mean(axis=0)
    _, singular_values, vt = np.linalg.svd(centered, full_matrices=False)
    variance = singular_values**2
    return centered @ vt[:components].T, variance[:components] / variance.sum()


def _project(z, method, seed):
    """2-D coordinates of high-dimensional codes and the axis names."""
    if method == "auto":
        method = "tsne" if importlib.util.find_spec("sklearn") else "pca"
    if method == "tsne":
        from sklearn.manifold import TSNE  # optional: never a requirement

        points = TSNE(n_components=2, init="pca", random_state=seed).fit_transform(z)
        return points, ("t-SNE 1", "t-SNE 2"), "t-SNE"
    if method == "pca":
        points, ratios = pca(z)
        names = tuple(f"PC{i + 1} ({r:.0%} of variance)" for i, r in enumerate(ratios))
        return points, names, "PCA"
    raise ValueError(f"method must be 'auto', 'pca' or 'tsne'; got {method!r}.")


def _scatter_style(labels):
    style = {"s": 3, "alpha": 0.7}
    if labels is not None:
        labels = np.asarray(labels)
        style.update(
            c=labels, cmap="tab10", vmin=int(labels.min()) - 0.5, vmax=int(labels.max()) + 0.5
        )
    return style


def _scatter_plane(ax, z, style, method, seed):
    """Draws codes of any size but 3 on `ax` (PCA/t-SNE above 3); returns the points and how."""
    how = ""
    if z.shape[1] == 1:
        z, names = np.concatenate([z, np.zeros_like(z)], axis=1), ("z[0]", "")
    elif z.shape[1] == 2:
        names = ("z[0]", "z[1]")
    else:
        z, names, how = _project(z, method, seed)
    points = ax.scatter(z[:, 0], z[:, 1], **style)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.grid(alpha=0.3)
    return points, how


def _label_colorbar(fig, points, labels, axes):
    labels = np.asarray(labels)
    bar = fig.colorbar(
        points, ax=axes, ticks=range(int(labels.min()), int(labels.max()) + 1), shrink=0.8
    )
    bar.set_label("label")


def latent_scatter_figure(model, images, labels=None, method="auto", seed=0):
    """Scatter of the posterior means of `images`, coloured by label.

    2-D latents are drawn as they are, 3-D latents as a 3-D scatter from three
    viewpoints, larger ones projected to 2-D by PCA (or t-SNE when
    scikit-learn is installed and `method` is "auto" or "tsne").

    Args:
        model: A `vae_tf.VAE`.
        images: Images to encode, `(N, H, W, C)`.
        labels: Optional integer labels `(N,)` for the colours and colour bar.
        method: Projection for latent_dim > 3: "auto", "pca" or "tsne".
        seed: Seed of t-SNE.
    """
    z = encode_means(model, images, labels if model.conditional else None)
    style = _scatter_style(labels)
    how = ""
    if model.latent_dim == 3:
        fig = Figure(figsize=(18, 6))
        views = ((20, -60), (20, 30), (70, -90))
        for i, (elevation, azimuth) in enumerate(views, start=1):
            ax = fig.add_subplot(1, 3, i, projection="3d")
            points = ax.scatter(z[:, 0], z[:, 1], z[:, 2], **style)
            ax.view_init(elev=elevation, azim=azimuth)
            ax.set_xlabel("z[0]")
            ax.set_ylabel("z[1]")
            ax.set_zlabel("z[2]", labelpad=6)
            ax.set_title(f"view: elevation {elevation}, azimuth {azimuth}")
    else:
        fig = Figure(figsize=(9, 7.5))
        points, how = _scatter_plane(fig.add_subplot(), z, style, method, seed)
    if labels is not None:
        _label_colorbar(fig, points, labels, fig.axes)
    projected = f" ({model.latent_dim}-D, projected by {how})" if how else ""
    fig.suptitle(f"Latent space: posterior means of {len(images):,} images{projected}")
    return fig


def model_comparison_figure(models, images, labels=None, rows=6, cols=6, seed=0):
    """Side by side, per model: the codes of `images` and decoded prior samples.

    Made to compare an `Autoencoder` with a `VAE` (or VAEs with different
    beta): the scatter shows where each puts the data (3-D and larger codes
    projected by PCA), the samples what it decodes from z ~ N(0, I), the
    same draws for every model of the same latent size.

    Args:
        models: `{name: model}` of plain (not conditional) models.
        images: Images to encode, `(N, H, W, C)`.
        labels: Optional integer labels for the colours.
    """
    fig = Figure(figsize=(12, 5.2 * len(models)))
    axes = fig.subplots(len(models), 2, squeeze=False)
    for (name, model), (scatter_ax, samples_ax) in zip(models.items(), axes):
        z = encode_means(model, images)
        points, how = _scatter_plane(scatter_ax, z, _scatter_style(labels), "pca", seed)
        scatter_ax.set_title(f"{name}: codes of {len(images):,} images" + (
            f" ({model.latent_dim}-D, {how})" if how else ""))
        prior = np.random.default_rng(seed).standard_normal((rows * cols, model.latent_dim))
        _imshow(samples_ax, tile_images(_decode(model, prior), rows, cols),
                interpolation="nearest")
        samples_ax.set_xticks([])
        samples_ax.set_yticks([])
        samples_ax.set_title(f"{name}: decoded samples of N(0, I)")
        if labels is not None:
            _label_colorbar(fig, points, labels, scatter_ax)
    return fig


def sweep_figure(rows):
    """Trade-offs of a sweep over latent size and beta (`vae_tf.sweeps.run_sweep` rows).

    Left: reconstruction against KL (rate against distortion), one line per
    latent size through its betas. Middle: the importance-weighted NLL
    against beta. Right: active latent units against beta.

    Args:
        rows: Dicts with `latent_dim`, `beta`, `reconstruction`, `kl`, `nll`
            and `active_units` (nats per example; `nll` may be NaN).
    """
    fig = Figure(figsize=(17, 5))
    rate_ax, nll_ax, units_ax = fig.subplots(1, 3)
    for latent_dim in sorted({row["latent_dim"] for row in rows}):
        runs = sorted((r for r in rows if r["latent_dim"] == latent_dim), key=lambda r: r["beta"])
        betas = [r["beta"] for r in runs]
        (line,) = rate_ax.plot(
            [r["kl"] for r in runs], [r["reconstruction"] for r in runs], "o-",
            label=f"latent {latent_dim}",
        )
        for r in runs:
            rate_ax.annotate(f"β={r['beta']:g}", (r["kl"], r["reconstruction"]),
                             textcoords="offset points", xytext=(4, 4), fontsize=8)
        nll_ax.plot(betas, [r["nll"] for r in runs], "o-", color=line.get_color(),
                    label=f"latent {latent_dim}")
        units_ax.plot(betas, [r["active_units"] for r in runs], "o-", color=line.get_color(),
                      label=f"latent {latent_dim}")
    rate_ax.set_xlabel("KL (rate), nats")
    rate_ax.set_ylabel("reconstruction (distortion), nats")
    rate_ax.set_title("Rate against distortion")
    nll_ax.set_ylabel("NLL (importance-weighted), nats")
    nll_ax.set_title("Negative log-likelihood")
    units_ax.set_ylabel("active latent units")
    units_ax.set_title("Active units (Cov_x E[z|x] > 0.01)")
    all_betas = sorted({row["beta"] for row in rows})
    for ax in (nll_ax, units_ax):
        ax.set_xscale("log", base=2)
        ax.set_xticks(all_betas, [f"{beta:g}" for beta in all_betas])
        ax.set_xlabel("beta")
    units_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in (rate_ax, nll_ax, units_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def _strip_axes(fig, rows, strips, row_labels, title=None):
    """One axes per row, each showing a horizontal strip of images."""
    axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
    for ax, strip, label in zip(axes, strips, row_labels):
        _imshow(ax, strip, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    return axes


def reconstructions_figure(model, images, labels=None):
    """A row of original images over the row of their reconstructions.

    Reconstructions decode the posterior means, as probabilities in [0, 1].
    `labels` only for a conditional VAE.
    """
    images = np.asarray(images, "float32")
    reconstructions = keras.ops.convert_to_numpy(model.reconstruct(images, labels))
    n = len(images)
    fig = Figure(figsize=(1.1 * n, 3))
    _strip_axes(
        fig, 2,
        [tile_images(images, 1, n), tile_images(reconstructions, 1, n)],
        ["original", "reconstruction"],
        "Reconstructions (decoded posterior means)",
    )
    return fig


def samples_figure(model, rows=8, cols=8, seed=0):
    """A `rows x cols` grid of images decoded from z ~ N(0, I).

    For a conditional VAE, one row per class (`rows` is then the number of
    classes), each with `cols` random styles of that class.
    """
    labels = None
    if model.conditional:
        rows = model.num_classes
        labels = np.repeat(np.arange(rows), cols)
    z = np.random.default_rng(seed).standard_normal((rows * cols, model.latent_dim))
    images = _decode(model, z, labels)
    fig = Figure(figsize=(0.9 * cols + 0.6, 0.9 * rows + 0.6))
    ax = fig.add_subplot()
    _imshow(ax, tile_images(images, rows, cols), interpolation="nearest")
    ax.set_xticks([])
    if model.conditional:
        _name_tiles(ax, "y", images.shape[1], [str(r) for r in range(rows)])
        ax.set_ylabel("label")
        ax.set_title(f"{cols} samples from the prior N(0, I) for each label")
    else:
        ax.set_yticks([])
        ax.set_title(f"{rows * cols} samples from the prior N(0, I)")
    return fig


def style_grid_figure(model, rows=6, seed=0):
    """Conditional VAE: the same z (a row) drawn with every label (columns).

    Each row keeps one handwriting (stroke width, slant) across all classes:
    the label carries the class, z the style.
    """
    _need_conditional(model, "The style grid")
    classes = model.num_classes
    z = np.random.default_rng(seed).standard_normal((rows, model.latent_dim))
    images = _decode(model, np.repeat(z, classes, axis=0), np.tile(np.arange(classes), rows))
    height, width = images.shape[1:3]
    fig = Figure(figsize=(0.9 * classes + 1.0, 0.9 * rows + 0.8))
    ax = fig.add_subplot()
    _imshow(ax, tile_images(images, rows, classes), interpolation="nearest")
    _name_tiles(ax, "x", width, [str(c) for c in range(classes)])
    _name_tiles(ax, "y", height, [f"z #{r + 1}" for r in range(rows)])
    ax.set_xlabel("label")
    ax.set_title("Style grid: one z per row (one handwriting), every label across")
    return fig


def analogies_figure(model, images, labels):
    """Conditional VAE: real images (first column) re-drawn with every label.

    Each image is encoded with its own label; its posterior mean (its style)
    is then decoded with each class in turn.
    """
    _need_conditional(model, "The analogies figure")
    images = np.asarray(images, "float32")
    classes = model.num_classes
    z = encode_means(model, images, labels)
    decoded = _decode(model, np.repeat(z, classes, axis=0), np.tile(np.arange(classes), len(z)))
    decoded = decoded.reshape(len(z), classes, *decoded.shape[1:])
    rows = np.concatenate([images[:, None], decoded], axis=1).reshape(-1, *images.shape[1:])
    width = images.shape[2]
    fig = Figure(figsize=(0.9 * (classes + 1) + 1.0, 0.9 * len(z) + 0.8))
    ax = fig.add_subplot()
    _imshow(ax, tile_images(rows, len(z), classes + 1), interpolation="nearest")
    _name_tiles(ax, "x", width, ["real"] + [str(c) for c in range(classes)])
    ax.set_yticks([])
    ax.axvline(width - 0.5, color="red", linewidth=1.5)
    ax.set_xlabel("label used to decode the real image's code")
    ax.set_title("Analogies: the style of each real digit, drawn as every digit")
    return fig


def _need_conditional(model, what):
    if not model.conditional:
        raise ValueError(f"{what} needs a conditional VAE (trained with labels).")


def slerp(a, b, t):
    """Spherical interpolation between the rows of `a` and `b` at fractions `t`.

    Follows the great circle between the two codes (White, 2016), which keeps
    intermediate codes at a typical distance from the origin under a Gaussian
    prior; falls back to linear interpolation for (anti)parallel codes.

    Returns:
        `(len(a), len(t), D)` codes.
    """
    a, b, t = np.asarray(a, "float64"), np.asarray(b, "float64"), np.asarray(t, "float64")
    cosine = np.sum(a * b, axis=-1) / (
        np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-12
    )
    omega = np.arccos(np.clip(cosine, -1.0, 1.0))[:, None, None]
    t = t[None, :, None]
    sin_omega = np.sin(omega)
    parallel = np.abs(sin_omega) < 1e-6
    safe = np.where(parallel, 1.0, sin_omega)
    spherical = (np.sin((1 - t) * omega) * a[:, None] + np.sin(t * omega) * b[:, None]) / safe
    linear = (1 - t) * a[:, None] + t * b[:, None]
    return np.where(parallel, linear, spherical)


def lerp(a, b, t):
    """Linear interpolation between the rows of `a` and `b`: `(len(a), len(t), D)`."""
    a, b, t = np.asarray(a, "float64"), np.asarray(b, "float64"), np.asarray(t, "float64")
    return (1 - t[None, :, None]) * a[:, None] + t[None, :, None] * b[:, None]


def interpolation_figure(model, start_images, end_images, steps=10):
    """Decoded paths between the codes of pairs of images, linear and spherical.

    Each pair gets two rows (linear, spherical); each row shows the start
    image, `steps` decoded codes from its posterior mean to the end image's,
    and the end image.
    """
    if model.conditional:
        raise ValueError(
            "The interpolation figure is for unconditional VAEs; a conditional VAE's "
            "style grid and analogies show its latent space."
        )
    start_images = np.asarray(start_images, "float32")
    end_images = np.asarray(end_images, "float32")
    if start_images.shape != end_images.shape:
        raise ValueError("start_images and end_images must have the same shape.")
    pairs = len(start_images)
    z_start, z_end = encode_means(model, start_images), encode_means(model, end_images)
    t = np.linspace(0.0, 1.0, steps)
    paths = np.stack([lerp(z_start, z_end, t), slerp(z_start, z_end, t)], axis=1)
    decoded = _decode(model, paths.reshape(-1, model.latent_dim))
    decoded = decoded.reshape(pairs, 2, steps, *decoded.shape[1:])
    strips, labels = [], []
    for i in range(pairs):
        for j, name in enumerate(("linear", "spherical")):
            row = np.concatenate([start_images[i : i + 1], decoded[i, j], end_images[i : i + 1]])
            strips.append(tile_images(row, 1, steps + 2))
            labels.append(f"pair {i + 1}\n{name}")
    fig = Figure(figsize=(1.0 * (steps + 2), 1.15 * 2 * pairs + 0.6))
    _strip_axes(
        fig, 2 * pairs, strips, labels,
        "Interpolations between encoded test images (real images at both ends)",
    )
    return fig


def latent_traversal_figure(
    model, images, labels=None, max_dims=10, value_range=(-3.0, 3.0), steps=11
):
    """Varies one latent dimension at a time around the code of `images[0]`.

    Rows are latent dimensions, the most used first (highest mean KL over
    `images`: dimensions the encoder ignores decode to nothing new; for an
    `Autoencoder`, highest spread of the codes); columns
    set that dimension to `steps` values across `value_range`, the others
    staying at the code. `labels` only for a conditional VAE (the traversal
    keeps the label of `images[0]`).
    """
    images = np.asarray(images, "float32")
    z_mean, z_log_var = encode_batches(model, images, labels)
    if z_log_var is None:
        usage, usage_name = z_mean.std(axis=0), "sd"
    else:
        usage = keras.ops.convert_to_numpy(
            losses.gaussian_kl_per_dimension(z_mean, z_log_var)
        ).mean(axis=0)
        usage_name = "KL"
    dims = np.argsort(-usage)[:max_dims]
    values = np.linspace(*value_range, steps).astype("float32")
    codes = np.repeat(z_mean[:1], len(dims) * len(values), axis=0).reshape(
        len(dims), len(values), -1
    )
    for row, dim in enumerate(dims):
        codes[row, :, dim] = values
    label = None if labels is None else int(np.asarray(labels)[0])
    decoded = _decode(model, codes.reshape(-1, model.latent_dim), label)
    height, width = decoded.shape[1:3]
    fig = Figure(figsize=(0.9 * len(values) + 1.5, 0.9 * len(dims) + 1.2))
    ax = fig.add_subplot()
    _imshow(ax, tile_images(decoded, len(dims), len(values)), interpolation="nearest")
    _label_tiles(ax, "x", width, values, count=len(values))
    _name_tiles(ax, "y", height, [f"z[{d}]\n{usage_name} {usage[d]:.2f}" for d in dims])
    ax.set_xlabel("value of the varied dimension")
    ax.set_title(
        f"Latent traversal around one code: {len(dims)} of {model.latent_dim} "
        "dimensions, most used first"
    )
    return fig


FIGURES = (
    "loss", "latent_grid", "latent_scatter", "reconstructions", "samples", "interpolation",
    "latent_traversal", "style_grid", "analogies",
)


def default_figures(model, history=None):
    """The figures that fit a model.

    The latent grid only for a 2-D latent space; interpolations for plain
    VAEs, the style grid and analogies for conditional ones.
    """
    excluded = {"loss"} if not history else set()
    if model.latent_dim != 2:
        excluded.add("latent_grid")
    excluded |= {"interpolation"} if model.conditional else {"style_grid", "analogies"}
    return [name for name in FIGURES if name not in excluded]


def write_figures(
    model, directory, images, labels=None, history=None, figures=None,
    grid_size=30, z_range=None, spacing="linear", num_examples=10, seed=0, grid_labels=None,
):
    """Writes figures of `model` as `<name>.png` in `directory`.

    Args:
        model: A `vae_tf.VAE`.
        directory: Folder to write into (created if missing).
        images: Images to encode (the test set, typically); the scatter uses
            all of them, the other figures a few chosen with `seed`.
        labels: Labels of `images`: the scatter's colours, and required by a
            conditional VAE.
        history: Training history (dict of lists) for "loss".
        figures: Names from `FIGURES`; default: `default_figures`.
        grid_size: Images per side of the latent grid.
        z_range: Latent grid range; default (-2, 2), or (0.05, 0.95) with
            quantile spacing.
        spacing: Latent grid spacing, "linear" or "quantile".
        num_examples: Images in the reconstructions and analogies;
            interpolation pairs are a third of that (at least 1).
        seed: Chooses the images shown and the prior samples.
        grid_labels: Conditional VAE: the labels that get a latent grid each
            (`latent_grid_label<k>.png`); default: every class.

    Returns:
        The list of paths written.
    """
    names = list(figures) if figures else default_figures(model, history)
    unknown = sorted(set(names) - set(FIGURES))
    if unknown:
        raise ValueError(f"Unknown figure(s) {unknown}; choose from {list(FIGURES)}.")
    if "loss" in names and not history:
        raise ValueError("The loss figure needs the training history (history.csv).")
    if model.conditional and labels is None:
        raise ValueError("A conditional VAE's figures need the labels of the images.")
    images = np.asarray(images, "float32")
    labels = None if labels is None else np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(images), size=min(num_examples, len(images)), replace=False)
    chosen_labels = labels[chosen] if model.conditional else None
    pairs = max(1, num_examples // 3)
    ends = images[rng.choice(len(images), size=2 * pairs, replace=len(images) < 2 * pairs)]
    if z_range is None:
        z_range = (0.05, 0.95) if spacing == "quantile" else (-2.0, 2.0)
    makers = {
        "loss": lambda: loss_curves_figure(
            history,
            "squared error per example (not nats)" if model.likelihood == "mse"
            else "nats per example",
        ),
        "latent_grid": lambda: latent_grid_figure(model, grid_size, z_range, spacing),
        "latent_scatter": lambda: latent_scatter_figure(model, images, labels, seed=seed),
        "reconstructions": lambda: reconstructions_figure(model, images[chosen], chosen_labels),
        "samples": lambda: samples_figure(model, seed=seed),
        "interpolation": lambda: interpolation_figure(model, ends[:pairs], ends[pairs:]),
        "latent_traversal": lambda: latent_traversal_figure(
            model, images[chosen], chosen_labels
        ),
        "style_grid": lambda: style_grid_figure(model, seed=seed),
        "analogies": lambda: analogies_figure(model, images[chosen], labels[chosen]),
    }
    os.makedirs(directory, exist_ok=True)
    paths = []
    for name in names:
        if name == "latent_grid" and model.conditional:
            for label in range(model.num_classes) if grid_labels is None else grid_labels:
                fig = latent_grid_figure(model, grid_size, z_range, spacing, label=label)
                paths.append(save_figure(fig, os.path.join(directory, f"{name}_label{label}.png")))
            continue
        paths.append(save_figure(makers[name](), os.path.join(directory, f"{name}.png")))
    return paths


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
