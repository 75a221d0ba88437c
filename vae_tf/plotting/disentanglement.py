"""Figures of data with known factors: one latent traversal per factor, a sweep's scores.

Example:

```python
factor_traversal_figure(vae, x_test, shape_factors("test"), FACTOR_NAMES).savefig("f.png")
rows = vae_tf.runs.disentanglement_sweep.run_disentanglement_sweep(base, seeds=(0, 1, 2))
disentanglement_sweep_figure(rows, summarize(rows)).savefig("disentanglement_sweep.png")
```
"""

import numpy as np
from matplotlib.figure import Figure

from vae_tf.latent import encode_means
from vae_tf.metrics.disentanglement import mutual_information_gap
from vae_tf.plotting.drawing import decode
from vae_tf.plotting.drawing import strip_axes
from vae_tf.utils.images import tile_images


def factor_traversal_figure(
    model,
    images,
    factors,
    factor_names,
    labels=None,
    steps=11,
    value_range=(-3.0, 3.0),
):
    """For each known factor, the latent dimension that carries most of it, traversed.

    The codes of `images` (posterior means) are compared with their
    `factors` (`mutual_information_gap`); each row varies the most
    informative dimension of one factor over `value_range` around the code
    of `images[0]`, the other dimensions held. The row says the dimension
    and the factor's normalized gap: a disentangled model changes only that
    factor along its row.
    """
    images = np.asarray(images, "float32")
    codes = encode_means(model, images, labels)
    result = mutual_information_gap(codes, factors, factor_names=factor_names)
    values = np.linspace(*value_range, steps)
    strips, row_labels = [], []
    for name, dimension, gap in zip(factor_names, result["best_dimensions"], result["gaps"]):
        path = np.repeat(codes[:1], steps, axis=0)
        path[:, dimension] = values
        row_label = None if labels is None else np.repeat(np.asarray(labels)[:1], steps)
        strips.append(tile_images(decode(model, path, row_label), 1, steps))
        row_labels.append(f"{name}\nz[{dimension}], gap {gap:.2f}")
    fig = Figure(figsize=(1.0 * steps + 1.6, 1.15 * len(strips) + 0.8))
    axes = strip_axes(
        fig,
        len(strips),
        strips,
        row_labels,
        f"One traversal per factor ({value_range[0]:g} to {value_range[1]:g}), the dimension "
        f"most informative about it; MIG {result['mig']:.3f}",
    )
    axes[-1].set_xlabel("value of the varied dimension")
    return fig


# The panels of `disentanglement_sweep_figure`: the seven scores, then the ELBO.
SWEEP_PANELS = (
    ("mig", "MIG"),
    ("factor_vae_score", "FactorVAE score"),
    ("beta_vae_score", "beta-VAE score"),
    ("dci_disentanglement", "DCI disentanglement"),
    ("dci_completeness", "DCI completeness"),
    ("dci_informativeness", "DCI informativeness"),
    ("sap", "SAP"),
    ("total_loss", "Negative ELBO (validation), nats"),
)


def disentanglement_sweep_figure(runs, summary):
    """Each score of a disentanglement sweep per model and value: mean, spread, every seed.

    One panel per score (and one of the validation negative ELBO). Each
    model's values sit side by side in the order swept, a gap between
    models; the line joins the means over seeds, the bars span one sample
    standard deviation either side (none for one seed) and the faint dots
    are the seeds themselves.

    Example: `disentanglement_sweep_figure(rows, summarize(rows))` with the
    rows of `vae_tf.runs.disentanglement_sweep.run_disentanglement_sweep`.

    Args:
        runs: Dicts with `model`, `value` and each panel's key, a dict per run.
        summary: Dicts with `model`, `setting`, `value`, `seeds` and each
            panel's `<key>_mean` and `<key>_std`, a dict per model and value.
    """
    models = list(dict.fromkeys(row["model"] for row in summary))
    positions, start = {}, 0
    for model in models:
        values = [row["value"] for row in summary if row["model"] == model]
        positions.update({(model, value): start + i for i, value in enumerate(values)})
        start += len(values) + 1  # a gap between models
    fig = Figure(figsize=(max(12.0, 0.32 * start + 6), 9.0))
    axes = fig.subplots(2, 4).flat
    colours = {model: f"C{i}" for i, model in enumerate(models)}
    for ax, (key, title) in zip(axes, SWEEP_PANELS):
        for model in models:
            rows = [row for row in summary if row["model"] == model]
            setting = rows[0]["setting"]
            ax.errorbar(
                [positions[model, row["value"]] for row in rows],
                [row[f"{key}_mean"] for row in rows],
                yerr=np.nan_to_num([row[f"{key}_std"] for row in rows]),
                fmt="o-",
                markersize=4,
                capsize=3,
                color=colours[model],
                label=f"{model} ({setting})",
            )
            seeds = [run for run in runs if run["model"] == model]
            ax.scatter(
                [positions[model, run["value"]] for run in seeds],
                [run[key] for run in seeds],
                s=14,
                alpha=0.35,
                color=colours[model],
                linewidths=0,
            )
        ax.set_title(title, fontsize=10)
        ax.set_xticks(list(positions.values()), [f"{value:g}" for _, value in positions])
        ax.tick_params(axis="x", labelsize=7, rotation=90)
        ax.grid(alpha=0.3)
    # One legend for all panels, below them, where it hides no point.
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=len(models))
    seeds = sorted({row["seeds"] for row in summary})
    fig.suptitle(
        f"Disentanglement per model and value (the x labels): mean over "
        f"{' or '.join(str(n) for n in seeds)} seeds, bars one standard deviation, dots the "
        "seeds"
    )
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig
