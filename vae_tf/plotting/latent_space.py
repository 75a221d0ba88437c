"""Figures of the latent space: grid, scatter, comparison, interpolation, traversal.

Example:

```python
latent_grid_figure(vae, n=30).savefig("latent_grid.png")
latent_scatter_figure(vae, x_test, y_test).savefig("latent_scatter.png")
```
"""

import numpy as np
from matplotlib.figure import Figure

from vae_tf.latent import dimension_usage
from vae_tf.latent import encode_means
from vae_tf.latent import grid_axis_values
from vae_tf.latent import latent_grid_coordinates
from vae_tf.latent import lerp
from vae_tf.latent import pca
from vae_tf.latent import prior_codes
from vae_tf.latent import prior_log_prob
from vae_tf.latent import slerp
from vae_tf.plotting.drawing import decode
from vae_tf.plotting.drawing import imshow
from vae_tf.plotting.drawing import label_tiles
from vae_tf.plotting.drawing import name_tiles
from vae_tf.plotting.drawing import strip_axes
from vae_tf.utils.images import tile_images


def latent_grid_figure(model, n=30, z_range=(-2.0, 2.0), spacing="linear", figsize=10, label=None):
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
    images = decode(model, z, label)
    height, width = images.shape[1:3]
    fig = Figure(figsize=(figsize, figsize))
    ax = fig.add_subplot()
    imshow(ax, tile_images(images, n, n), interpolation="nearest")
    label_tiles(ax, "x", width, values)
    label_tiles(ax, "y", height, values[::-1])
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    spacing_text = "Gaussian quantiles" if spacing == "quantile" else "linear in z"
    digit = "" if label is None else f", label {label}"
    ax.set_title(f"Decoded latent grid ({n} x {n}, {spacing_text}{digit})")
    return fig


def _project(z, method, seed):
    """2-D coordinates of high-dimensional codes and the axis names."""
    if method == "auto":
        # PCA: seconds where t-SNE takes minutes on a run's test set, and the
        # same picture every time (scikit-learn, a requirement since the
        # disentanglement metrics, no longer turns every run's figure into t-SNE).
        method = "pca"
    if method == "tsne":
        from sklearn.manifold import TSNE

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


def _prior_contours(ax, model, steps=120):
    """Contours of the prior's density over the axes' current limits (2-D codes)."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    xs, ys = np.meshgrid(np.linspace(x0, x1, steps), np.linspace(y0, y1, steps))
    codes = np.stack([xs.ravel(), ys.ravel()], axis=1)
    log_density = prior_log_prob(model, codes).reshape(xs.shape)
    # Log-density levels below the peak, so that a mixture's lesser
    # components show as well as its main one.
    levels = log_density.max() - np.array([8.0, 4.5, 2.0, 0.5])
    ax.contour(xs, ys, log_density, levels=levels, colors="0.35", linewidths=0.8, alpha=0.8)
    ax.plot(
        [],
        [],
        color="0.35",
        linewidth=0.8,
        label=f"log-density of the prior {model.prior.notation} (steps to its peak)",
    )
    ax.legend(loc="upper right")


def latent_scatter_figure(model, images, labels=None, method="auto", seed=0):
    """Scatter of the posterior means of `images`, coloured by label.

    2-D latents are drawn as they are, over contours of the prior's
    log-density; 3-D latents as a 3-D scatter from three viewpoints; larger
    ones projected to 2-D by PCA (`method` "auto" or "pca") or t-SNE
    (`method="tsne"`).

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
        ax = fig.add_subplot()
        points, how = _scatter_plane(ax, z, style, method, seed)
        if model.latent_dim == 2:
            _prior_contours(ax, model)
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
        scatter_ax.set_title(
            f"{name}: codes of {len(images):,} images"
            + (f" ({model.latent_dim}-D, {how})" if how else "")
        )
        prior = prior_codes(model, rows * cols, seed)
        imshow(samples_ax, tile_images(decode(model, prior), rows, cols), interpolation="nearest")
        samples_ax.set_xticks([])
        samples_ax.set_yticks([])
        samples_ax.set_title(f"{name}: decoded samples of {model.prior.notation}")
        if labels is not None:
            _label_colorbar(fig, points, labels, scatter_ax)
    return fig


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
    decoded = decode(model, paths.reshape(-1, model.latent_dim))
    decoded = decoded.reshape(pairs, 2, steps, *decoded.shape[1:])
    strips, labels = [], []
    for i in range(pairs):
        for j, name in enumerate(("linear", "spherical")):
            row = np.concatenate([start_images[i : i + 1], decoded[i, j], end_images[i : i + 1]])
            strips.append(tile_images(row, 1, steps + 2))
            labels.append(f"pair {i + 1}\n{name}")
    fig = Figure(figsize=(1.0 * (steps + 2), 1.15 * 2 * pairs + 0.6))
    strip_axes(
        fig,
        2 * pairs,
        strips,
        labels,
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
    usage, usage_name, z_mean = dimension_usage(model, images, labels)
    dims = np.argsort(-usage)[:max_dims]
    values = np.linspace(*value_range, steps).astype("float32")
    codes = np.repeat(z_mean[:1], len(dims) * len(values), axis=0).reshape(
        len(dims), len(values), -1
    )
    for row, dim in enumerate(dims):
        codes[row, :, dim] = values
    label = None if labels is None else int(np.asarray(labels)[0])
    decoded = decode(model, codes.reshape(-1, model.latent_dim), label)
    height, width = decoded.shape[1:3]
    fig = Figure(figsize=(0.9 * len(values) + 1.5, 0.9 * len(dims) + 1.2))
    ax = fig.add_subplot()
    imshow(ax, tile_images(decoded, len(dims), len(values)), interpolation="nearest")
    label_tiles(ax, "x", width, values, count=len(values))
    name_tiles(ax, "y", height, [f"z[{d}]\n{usage_name} {usage[d]:.2f}" for d in dims])
    ax.set_xlabel("value of the varied dimension")
    ax.set_title(
        f"Latent traversal around one code: {len(dims)} of {model.latent_dim} "
        "dimensions, most used first"
    )
    return fig
