"""Trains and evaluates a grid of latent sizes and betas, and plots the trade-offs.

    python scripts/sweep.py --architecture=mlp --epochs=10 --output_dir=runs/sweep
    python scripts/sweep.py --latent_dims=2,20 --betas=1,4 --epochs=3 --k=1000

Every point is a run directory <output_dir>/latent<d>_beta<b> (with its
evaluation.json); the sweep writes <output_dir>/sweep.csv and sweep.png
(reconstruction against KL, NLL and active units against beta; and against
latent size, reconstruction beside the samples' FID, precision and recall,
judged by a classifier of the dataset trained once and cached). Interrupted
sweeps resume: finished points are reused. Every flag of train.py but
--latent_dim, --beta and --output_dir applies to all points.
"""

from absl import app
from absl import flags

from vae_tf import cli
from vae_tf.runs import sweeps

cli.define_train_flags(exclude=("latent_dim", "beta", "output_dir"))
flags.adopt_module_key_flags(cli)
flags.DEFINE_list("latent_dims", [f"{d}" for d in sweeps.LATENT_DIMS], "Latent sizes to sweep.")
flags.DEFINE_list("betas", [f"{b:g}" for b in sweeps.BETAS], "KL weights to sweep.")
flags.DEFINE_string("output_dir", "runs/sweep", "Folder of the sweep (resumed if it exists).")
flags.DEFINE_integer("k", 100, "Importance samples of the NLL per image.", lower_bound=1)
flags.DEFINE_integer("num_examples", 1000, "Test images evaluated per point.", lower_bound=1)
flags.DEFINE_bool(
    "sample_quality",
    True,
    "Measure every point's samples (FID, precision, recall); --nosample_quality skips it.",
)
flags.DEFINE_integer(
    "sample_quality_examples",
    10000,
    "Test images compared with as many samples per point.",
    lower_bound=2,
)
flags.DEFINE_integer("judge_epochs", 3, "Epochs of the judge classifier.", lower_bound=1)

FLAGS = flags.FLAGS


def _numbers(name, values, kind):
    try:
        numbers = [kind(value) for value in values]
    except ValueError:
        raise app.UsageError(f"--{name} must be a comma-separated list of numbers; got {values}.")
    if not numbers or any(not number > 0 for number in numbers):
        raise app.UsageError(f"--{name} must list numbers > 0; got {values}.")
    return numbers


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_logs(FLAGS)
    latent_dims = _numbers("latent_dims", FLAGS.latent_dims, int)
    betas = _numbers("betas", FLAGS.betas, float)
    base = cli.config_from_flags(FLAGS)
    try:
        sweeps.run_sweep(
            base,
            latent_dims,
            betas,
            FLAGS.output_dir,
            num_samples=FLAGS.k,
            num_examples=FLAGS.num_examples,
            sample_quality=FLAGS.sample_quality,
            sample_quality_examples=FLAGS.sample_quality_examples,
            judge_epochs=FLAGS.judge_epochs,
        )
    except ValueError as error:
        raise app.UsageError(str(error))
    print(f"wrote {FLAGS.output_dir}/sweep.csv and sweep.png")


if __name__ == "__main__":
    cli.run(
        main, interrupted="the finished points stay in output_dir; run the same command to go on"
    )
