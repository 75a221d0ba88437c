"""Draws the figures of a trained run from its run directory.

    python scripts/visualize.py --run_dir=runs/conv_latent2_20261122-231700
    python scripts/visualize.py --run_dir=RUN --figures=latent_grid --spacing=quantile
    python scripts/visualize.py --run_dir=RUN --figures=latent_scatter,samples --out_dir=figs
    python scripts/visualize.py --run_dir=VAE_RUN --compare_with=AE_RUN   # comparison.png
    python scripts/visualize.py --preset=mnist_conv_latent2   # into ./mnist_conv_latent2_figures

Loads RUN/vae.keras (and RUN/history.csv for the loss curves) and writes
<figure>.png files, by default into RUN, replacing earlier ones. Without
--figures it draws every figure that fits the model (the latent grid only
for a 2-D latent space). With --compare_with it draws comparison.png instead:
the codes and prior samples of each run side by side (an autoencoder against a
VAE, say).
"""

import os

from absl import app
from absl import flags

from vae_tf import cli
from vae_tf import plotting
from vae_tf.runs import data_source
from vae_tf.runs import load_run
from vae_tf.runs import read_config
from vae_tf.runs import split_images
from vae_tf.runs.preset_files import is_preset
from vae_tf.utils.files import folder_name

flags.DEFINE_string("run_dir", None, "Run directory written by scripts/train.py.")
cli.define_preset_flag()
flags.DEFINE_list(
    "figures",
    [],
    f"Figures to draw, comma-separated, from: {', '.join(plotting.FIGURES)}. "
    "Default: all that fit the model.",
)
flags.DEFINE_string(
    "out_dir",
    None,
    "Where to write the PNGs; default: the run directory (with --preset: ./<preset>_figures).",
)
flags.DEFINE_integer("grid_size", 30, "Images per side of the latent grid.", lower_bound=2)
flags.DEFINE_list(
    "z_range",
    [],
    "Latent grid range low,high: latent values with linear spacing (default -2,2), "
    "probabilities with quantile spacing (default 0.05,0.95).",
)
flags.DEFINE_enum(
    "spacing",
    "linear",
    ["linear", "quantile"],
    "Latent grid spacing: linear in z, or at Gaussian quantiles (Kingma & Welling).",
)
flags.DEFINE_enum("split", "test", ["test", "train"], "MNIST split to encode and show.")
flags.DEFINE_integer(
    "num_examples",
    10,
    "Images in the reconstructions (a third as many interpolation pairs).",
    lower_bound=1,
)
flags.DEFINE_integer(
    "scatter_examples", 10000, "Images encoded for the latent scatter.", lower_bound=1
)
flags.DEFINE_list(
    "grid_labels", [], "Conditional VAEs: labels that get a latent grid each (default: all)."
)
flags.DEFINE_integer("seed", 0, "Chooses the images shown and the prior samples.", lower_bound=0)
flags.DEFINE_list(
    "compare_with",
    [],
    "Other run directories: draw comparison.png, their codes and prior samples beside "
    "--run_dir's, instead of the other figures.",
)

FLAGS = flags.FLAGS


def _z_range():
    if not FLAGS.z_range:
        return None
    try:
        low, high = (float(value) for value in FLAGS.z_range)
    except ValueError:
        raise app.UsageError(f"--z_range must be two numbers low,high; got {FLAGS.z_range}.")
    return low, high


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    z_range = _z_range()
    try:
        grid_labels = [int(label) for label in FLAGS.grid_labels] or None
    except ValueError:
        raise app.UsageError(f"--grid_labels must be integers; got {FLAGS.grid_labels}.")
    run_dir = cli.run_dir_or_preset()
    # Not into a preset's folder: it may be the package's own.
    out_dir = FLAGS.out_dir or (
        f"{folder_name(run_dir)}_figures" if is_preset(run_dir) else run_dir
    )
    run = load_run(run_dir)
    images, labels = split_images(read_config(run_dir), FLAGS.split, FLAGS.scatter_examples)
    if FLAGS.compare_with:
        paths = [_comparison(run, images, labels, out_dir)]
    else:
        paths = _figures(run, images, labels, out_dir, z_range, grid_labels)
    for path in paths:
        print(f"wrote {path}")


def _name(model, run_dir):
    kind = "Autoencoder" if model.kl_estimate is None else "VAE"
    return f"{kind} ({folder_name(run_dir)})"


def _comparison(run, images, labels, out_dir):
    runs = [run] + [load_run(run_dir) for run_dir in FLAGS.compare_with]
    if any(other.model.conditional for other in runs):
        raise ValueError("--compare_with compares plain (not conditional) runs.")
    models = {_name(other.model, other.run_dir): other.model for other in runs}
    figure = plotting.model_comparison_figure(models, images, labels, seed=FLAGS.seed)
    return plotting.save_figure(figure, os.path.join(out_dir, "comparison.png"))


def _figures(run, images, labels, out_dir, z_range, grid_labels):
    source = data_source(read_config(run.run_dir))
    factors = source.factors(FLAGS.split)[: len(images)] if source.factors else None
    return plotting.write_figures(
        run.model,
        out_dir,
        images,
        labels,
        run.history,
        figures=FLAGS.figures,
        grid_size=FLAGS.grid_size,
        z_range=z_range,
        spacing=FLAGS.spacing,
        num_examples=FLAGS.num_examples,
        seed=FLAGS.seed,
        grid_labels=grid_labels,
        factors=factors,
        factor_names=source.factor_names,
    )


if __name__ == "__main__":
    cli.run(main)
