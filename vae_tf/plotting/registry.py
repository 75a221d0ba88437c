"""The registry of a run's figures: what each draws, when it fits, and writing them all.

Each entry of `FIGURES` is a `FigureSpec`: `fits(model, history)` says
whether the figure applies (the latent grid needs a 2-D latent space, the
style grid a conditional model, ...), and `draw(inputs)` yields
`(file stem, Figure)` pairs from the `FigureInputs` that `write_figures`
prepares once. A new figure is one entry.

Example:

```python
write_figures(vae, "figs", x_test, y_test, history)        # every figure that fits
write_figures(vae, "figs", x_test, figures=["latent_grid"], spacing="quantile")
```
"""

import dataclasses
import os
from typing import Callable
from typing import Optional

import numpy as np

from vae_tf.plotting.codes import code_maps_figure
from vae_tf.plotting.codes import codebook_usage_figure
from vae_tf.plotting.conditional import analogies_figure
from vae_tf.plotting.conditional import class_interpolation_figure
from vae_tf.plotting.conditional import style_grid_figure
from vae_tf.plotting.curves import loss_curves_figure
from vae_tf.plotting.disentanglement import factor_traversal_figure
from vae_tf.plotting.drawing import save_figure
from vae_tf.plotting.images import reconstructions_figure
from vae_tf.plotting.images import samples_figure
from vae_tf.plotting.latent_space import interpolation_figure
from vae_tf.plotting.latent_space import latent_grid_figure
from vae_tf.plotting.latent_space import latent_scatter_figure
from vae_tf.plotting.latent_space import latent_traversal_figure


@dataclasses.dataclass
class FigureInputs:
    """What the figures of one `write_figures` call draw from, chosen once."""

    model: object
    images: np.ndarray
    labels: Optional[np.ndarray]
    history: Optional[dict]
    chosen: np.ndarray  # indices of the images shown (reconstructions, traversal, analogies)
    ends: np.ndarray  # interpolation end points: `pairs` starts, then `pairs` ends
    pairs: int
    grid_size: int
    z_range: tuple
    spacing: str
    grid_labels: Optional[list]
    seed: int
    factors: Optional[np.ndarray] = None  # known factor indices of `images`, if any
    factor_names: Optional[tuple] = None

    @property
    def chosen_labels(self):
        return self.labels[self.chosen] if self.model.conditional else None


@dataclasses.dataclass(frozen=True)
class FigureSpec:
    """A figure of the registry: `draw(inputs)` yields `(stem, Figure)`; `fits(model, history)`.

    `needs_factors`: drawn only for images with known factors (`shapes`, `faces`).
    """

    draw: Callable
    fits: Callable = lambda model, history: True
    needs_factors: bool = False


def _loss(inputs):
    units = (
        "squared error per example (not nats)"
        if inputs.model.likelihood == "mse"
        else "nats per example"
    )
    model = inputs.model
    yield (
        "loss",
        loss_curves_figure(
            inputs.history,
            units,
            bound=model.bound_name,
            terms=model.loss_term_names,
            kl_title=None
            if model.kl_estimate != "Monte Carlo"
            else f"KL (Monte Carlo estimate, log q(z|x) - log p(z), {model.prior.notation})",
        ),
    )


def _latent_grid(inputs):
    grid = (inputs.grid_size, inputs.z_range, inputs.spacing)
    if not inputs.model.conditional:
        yield "latent_grid", latent_grid_figure(inputs.model, *grid)
        return
    labels = range(inputs.model.num_classes) if inputs.grid_labels is None else inputs.grid_labels
    for label in labels:
        yield f"latent_grid_label{label}", latent_grid_figure(inputs.model, *grid, label=label)


def _class_interpolation(inputs):
    # Images of one class only (a folder's held-out few) have no pair to draw.
    if len(np.unique(inputs.labels)) >= 2:
        yield (
            "class_interpolation",
            class_interpolation_figure(
                inputs.model, inputs.images, inputs.labels, pairs=inputs.pairs, seed=inputs.seed
            ),
        )


def _one(name, make):
    return lambda inputs: iter([(name, make(inputs))])


def _continuous(model, history):
    """Figures of a latent space's points: not of a VQ-VAE's codebook indices."""
    return not model.discrete_codes


FIGURES = {
    "loss": FigureSpec(_loss, fits=lambda model, history: bool(history)),
    "latent_grid": FigureSpec(
        _latent_grid,
        fits=lambda model, history: model.latent_dim == 2 and _continuous(model, history),
    ),
    "latent_scatter": FigureSpec(
        _one(
            "latent_scatter",
            lambda i: latent_scatter_figure(i.model, i.images, i.labels, seed=i.seed),
        ),
        fits=_continuous,
    ),
    "reconstructions": FigureSpec(
        _one(
            "reconstructions",
            lambda i: reconstructions_figure(i.model, i.images[i.chosen], i.chosen_labels),
        )
    ),
    "samples": FigureSpec(_one("samples", lambda i: samples_figure(i.model, seed=i.seed))),
    "interpolation": FigureSpec(
        _one(
            "interpolation",
            lambda i: interpolation_figure(i.model, i.ends[: i.pairs], i.ends[i.pairs :]),
        ),
        fits=lambda model, history: not model.conditional and _continuous(model, history),
    ),
    "latent_traversal": FigureSpec(
        _one(
            "latent_traversal",
            lambda i: latent_traversal_figure(i.model, i.images[i.chosen], i.chosen_labels),
        ),
        fits=_continuous,
    ),
    "codebook_usage": FigureSpec(
        _one(
            "codebook_usage",
            lambda i: codebook_usage_figure(
                i.model, i.images, i.labels if i.model.conditional else None
            ),
        ),
        fits=lambda model, history: model.discrete_codes,
    ),
    "code_maps": FigureSpec(
        _one(
            "code_maps",
            lambda i: code_maps_figure(
                i.model,
                i.images[i.chosen[:6]],
                i.chosen_labels[:6] if i.model.conditional else None,
            ),
        ),
        fits=lambda model, history: model.discrete_codes,
    ),
    "style_grid": FigureSpec(
        _one("style_grid", lambda i: style_grid_figure(i.model, seed=i.seed)),
        fits=lambda model, history: model.conditional and _continuous(model, history),
    ),
    "analogies": FigureSpec(
        _one(
            "analogies", lambda i: analogies_figure(i.model, i.images[i.chosen], i.labels[i.chosen])
        ),
        fits=lambda model, history: model.conditional,
    ),
    "class_interpolation": FigureSpec(
        _class_interpolation,
        fits=lambda model, history: model.conditional and _continuous(model, history),
    ),
    "factor_traversal": FigureSpec(
        _one(
            "factor_traversal",
            lambda i: factor_traversal_figure(
                i.model,
                i.images,
                i.factors,
                i.factor_names,
                i.labels if i.model.conditional else None,
            ),
        ),
        fits=_continuous,
        needs_factors=True,
    ),
}


def default_figures(model, history=None, factors=False):
    """The figures that fit a model.

    The latent grid only for a 2-D latent space; interpolations for plain
    VAEs, the style grid, analogies and class interpolations for conditional
    ones; the factor traversal when the images' `factors` are known. A
    VQ-VAE's codes are indices, not points: its codebook use and code maps
    instead of the figures of a latent space.
    """
    return [
        name
        for name, spec in FIGURES.items()
        if spec.fits(model, history) and (factors or not spec.needs_factors)
    ]


def write_figures(
    model,
    directory,
    images,
    labels=None,
    history=None,
    figures=None,
    grid_size=30,
    z_range=None,
    spacing="linear",
    num_examples=10,
    seed=0,
    grid_labels=None,
    factors=None,
    factor_names=None,
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
        factors: The known factor indices of `images` `(N, K)` (the
            `shapes` and `faces` datasets), for "factor_traversal".
        factor_names: The K factors' names.

    Returns:
        The list of paths written.
    """
    names = list(figures) if figures else default_figures(model, history, factors is not None)
    unknown = sorted(set(names) - set(FIGURES))
    if unknown:
        raise ValueError(f"Unknown figure(s) {unknown}; choose from {list(FIGURES)}.")
    if "loss" in names and not history:
        raise ValueError("The loss figure needs the training history (history.csv).")
    if "factor_traversal" in names and factors is None:
        raise ValueError(
            "The factor traversal needs images with known factors (a run on --dataset=shapes "
            "or --dataset=faces)."
        )
    if model.conditional and labels is None:
        raise ValueError("A conditional VAE's figures need the labels of the images.")
    images = np.asarray(images, "float32")
    labels = None if labels is None else np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(images), size=min(num_examples, len(images)), replace=False)
    pairs = max(1, num_examples // 3)
    ends = images[rng.choice(len(images), size=2 * pairs, replace=len(images) < 2 * pairs)]
    if z_range is None:
        z_range = (0.05, 0.95) if spacing == "quantile" else (-2.0, 2.0)
    inputs = FigureInputs(
        model=model,
        images=images,
        labels=labels,
        history=history,
        chosen=chosen,
        ends=ends,
        pairs=pairs,
        grid_size=grid_size,
        z_range=z_range,
        spacing=spacing,
        grid_labels=grid_labels,
        seed=seed,
        factors=None if factors is None else np.asarray(factors)[: len(images)],
        factor_names=None if factor_names is None else tuple(factor_names),
    )
    os.makedirs(directory, exist_ok=True)
    paths = []
    for name in names:
        for stem, fig in FIGURES[name].draw(inputs):
            paths.append(save_figure(fig, os.path.join(directory, f"{stem}.png")))
    return paths
