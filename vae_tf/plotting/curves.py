"""Figures of numbers over training and sweeps: loss curves, comparisons, the sweep's trade-offs.

Example:

```python
loss_curves_figure(history).savefig("loss.png")
sweep_figure(vae_tf.runs.sweeps.read_sweep("runs/sweep")).savefig("sweep.png")
comparison_figure(runs).savefig("comparison.png")      # runs of `run_comparison`
```
"""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# The titles of the panels of the terms every VAE has; others are titled by name.
TERM_TITLES = {
    "reconstruction": "Reconstruction",
    "kl": "KL divergence",
    "mi": "Index-code mutual information",
    "tc": "Total correlation",
    "dim_kl": "Dimension-wise KL",
    "discriminator": "Discriminator cross-entropy",
    "dip": "DIP covariance penalty",
    "capacity": "Capacity penalty |KL - C|",
}


def loss_metrics(terms=("reconstruction", "kl")):
    """`(metric, title)` of the loss panels: the total, then each named term's `<name>_loss`."""
    return (("total_loss", "Total (negative ELBO)"),) + tuple(
        (f"{name}_loss", TERM_TITLES.get(name, name.replace("_", " ").capitalize()))
        for name in terms
    )


def loss_curves_figure(
    history, units="nats per example", bound=None, kl_title=None, terms=("reconstruction", "kl")
):
    """Training (and validation) curves of the total loss and of each named term.

    When the history holds a varying `kl_weight` (KL warm-up, cyclical
    annealing), the KL panel also shows it, on its own axis.

    Args:
        history: A `keras.callbacks.History` or its `.history` dict
            (`{"total_loss": [...], "val_total_loss": [...], ...}`).
        units: Label of the loss axes (not nats for the "mse" objective).
        bound: The name of the optimized objective when it is not the ELBO
            (e.g. "negative IWAE bound, k=5"): the first panel also draws
            `loss`, the objective, under that name.
        kl_title: Title of the KL panel (e.g. to say the KL is a Monte Carlo
            estimate); "KL divergence" by default.
        terms: The model's named loss terms (`model.loss_term_names`): one
            panel each, after the total's.

    Returns:
        A Figure with one panel per loss.
    """
    history = getattr(history, "history", history)
    panels = loss_metrics(terms)
    fig = Figure(figsize=(5 * len(panels), 4.2))
    axes = fig.subplots(1, len(panels))
    titles = {"kl_loss": kl_title} if kl_title else {}
    for ax, (key, title) in zip(axes, panels):
        curves = [(key, "")]
        if bound and key == "total_loss":
            curves.append(("loss", f" (optimized: {bound})"))
        for name, suffix in curves:
            for prefix, label, style in (("", "train", "-"), ("val_", "validation", "--")):
                values = history.get(prefix + name)
                if values:
                    epochs = np.arange(1, len(values) + 1)
                    ax.plot(
                        epochs,
                        values,
                        style,
                        marker="o" if name == key else "s",
                        markersize=3,
                        label=label + suffix,
                    )
        ax.set_title(titles.get(key, title))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(units)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left" if key == "kl_loss" else "best")
    weights = history.get("kl_weight")
    if weights and min(weights) != max(weights):
        keys = [key for key, _ in panels]
        weight_ax = axes[keys.index("kl_loss") if "kl_loss" in keys else -1].twinx()
        epochs = np.arange(1, len(weights) + 1)
        weight_ax.plot(epochs, weights, ":", color="gray", label="KL weight (mean of epoch)")
        weight_ax.set_ylabel("KL weight")
        weight_ax.set_ylim(bottom=0)
        weight_ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def comparison_figure(runs):
    """Runs that differ in one setting: negative ELBO and KL against epoch, results at the end.

    Args:
        runs: Dicts with `label`, `history` (a run's history: `total_loss`,
            `kl_loss`, and their `val_` curves), and the end results `nll`
            (None or NaN for a model without a density: its `total_loss` is its
            reconstruction, and it has no KL curve), `active_units`,
            `latent_dim` (and optionally `fid`).

    Returns:
        A Figure: validation (solid) and training (dashed) negative ELBO,
        then KL, against epoch, one colour per run; the legend gives each
        run's NLL and active units at the end.
    """
    fig = Figure(figsize=(15, 5))
    elbo_ax, kl_ax = fig.subplots(1, 2)
    for run in runs:
        history = run["history"]
        nll = run["nll"]
        likelihood = f"NLL {nll:.2f}" if nll is not None and np.isfinite(nll) else "no density"
        end = f"{likelihood}, {run['active_units']}/{run['latent_dim']} active units"
        if np.isfinite(run.get("fid", np.nan)):
            end += f", FID {run['fid']:.1f}"
        colour = None
        for ax, key in ((elbo_ax, "total_loss"), (kl_ax, "kl_loss")):
            for prefix, style in (("val_", "-"), ("", "--")):
                values = history.get(prefix + key)
                if not values:
                    continue
                label = (
                    f"{run['label']} (validation): {end}"
                    if prefix
                    else (f"{run['label']} (training)")
                )
                (line,) = ax.plot(
                    np.arange(1, len(values) + 1),
                    values,
                    style,
                    color=colour,
                    marker="o" if prefix else None,
                    markersize=3,
                    label=label,
                )
                colour = line.get_color()
    elbo_ax.set_title("Negative ELBO")
    elbo_ax.set_ylabel("nats per example")
    kl_ax.set_title("KL divergence")
    kl_ax.set_ylabel("nats per example")
    for ax in (elbo_ax, kl_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    elbo_ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def sweep_figure(rows):
    """Trade-offs of a sweep over latent size and beta (`vae_tf.runs.sweeps.run_sweep` rows).

    Top row: reconstruction against KL (rate against distortion), one line
    per latent size through its betas; the importance-weighted NLL against
    beta; active latent units against beta. When the rows hold sample
    quality, a second row against latent size, one line per beta:
    reconstruction beside FID, and precision (solid) and recall (dashed).

    Args:
        rows: Dicts with `latent_dim`, `beta`, `reconstruction`, `kl`, `nll`
            and `active_units` (nats per example; `nll` may be NaN), and
            optionally `fid`, `precision`, `recall` (NaN when not measured).
    """
    quality = any(np.isfinite(row.get("fid", np.nan)) for row in rows)
    fig = Figure(figsize=(17, 10 if quality else 5))
    axes = fig.subplots(2 if quality else 1, 3, squeeze=False)
    _beta_panels(axes[0], rows)
    if quality:
        _latent_size_panels(axes[1], rows)
    for ax in axes.flat:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _beta_panels(axes, rows):
    rate_ax, nll_ax, units_ax = axes
    for latent_dim in sorted({row["latent_dim"] for row in rows}):
        runs = sorted((r for r in rows if r["latent_dim"] == latent_dim), key=lambda r: r["beta"])
        betas = [r["beta"] for r in runs]
        (line,) = rate_ax.plot(
            [r["kl"] for r in runs],
            [r["reconstruction"] for r in runs],
            "o-",
            label=f"latent {latent_dim}",
        )
        for r in runs:
            rate_ax.annotate(
                f"β={r['beta']:g}",
                (r["kl"], r["reconstruction"]),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=8,
            )
        nll_ax.plot(
            betas,
            [r["nll"] for r in runs],
            "o-",
            color=line.get_color(),
            label=f"latent {latent_dim}",
        )
        units_ax.plot(
            betas,
            [r["active_units"] for r in runs],
            "o-",
            color=line.get_color(),
            label=f"latent {latent_dim}",
        )
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


def _latent_size_panels(axes, rows):
    reconstruction_ax, fid_ax, coverage_ax = axes
    for beta in sorted({row["beta"] for row in rows}):
        runs = sorted((r for r in rows if r["beta"] == beta), key=lambda r: r["latent_dim"])
        sizes = [r["latent_dim"] for r in runs]
        (line,) = reconstruction_ax.plot(
            sizes, [r["reconstruction"] for r in runs], "o-", label=f"β={beta:g}"
        )
        colour = line.get_color()
        fid_ax.plot(sizes, [r["fid"] for r in runs], "o-", color=colour, label=f"β={beta:g}")
        coverage_ax.plot(
            sizes,
            [r["precision"] for r in runs],
            "o-",
            color=colour,
            label=f"precision, β={beta:g}",
        )
        coverage_ax.plot(
            sizes, [r["recall"] for r in runs], "s--", color=colour, label=f"recall, β={beta:g}"
        )
    reconstruction_ax.set_ylabel("reconstruction, nats")
    reconstruction_ax.set_title("Reconstruction against latent size")
    fid_ax.set_ylabel("FID (judge's features), lower is better")
    fid_ax.set_title("Sample quality: Fréchet distance")
    coverage_ax.set_ylabel("fraction")
    coverage_ax.set_ylim(-0.02, 1.02)
    coverage_ax.set_title("Precision (realism) and recall (diversity) of samples")
    sizes = sorted({row["latent_dim"] for row in rows})
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xticks(sizes, [str(size) for size in sizes])
        ax.set_xlabel("latent size")
