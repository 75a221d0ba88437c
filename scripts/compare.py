"""Trains the same model with several values of one setting and compares them.

    python scripts/compare.py --vary=kl_warmup_epochs --values=0,10 --architecture=mlp \
        --latent_dim=50 --binarize --epochs=30 --output_dir=runs/warmup
    python scripts/compare.py --vary=free_bits --values=0,0.5 --epochs=10

Every value is a run directory <output_dir>/<setting><value> (with its
evaluation.json); the comparison writes <output_dir>/comparison.csv (negative
ELBO, NLL, active units, sample quality of each run) and comparison.png
(negative ELBO and KL against epoch, one colour per value, the NLL and active
units at the end in the legend). Interrupted comparisons resume, reusing the
finished runs. Every flag of train.py but --output_dir applies to all runs.
"""

from absl import app
from absl import flags

from vae_tf import cli
from vae_tf.runs import sweeps

cli.define_train_flags(exclude=("output_dir",))
flags.adopt_module_key_flags(cli)
flags.DEFINE_string(
    "vary", None, "The train.py setting to vary, e.g. kl_warmup_epochs.", required=True
)
flags.DEFINE_list(
    "values", None, "Its values, comma-separated, as the flag takes them.", required=True
)
flags.DEFINE_string("output_dir", "runs/comparison", "Folder of the comparison (resumed).")
flags.DEFINE_integer("k", 1000, "Importance samples of the NLL per image.", lower_bound=1)
flags.DEFINE_integer("num_examples", 1000, "Test images evaluated per run.", lower_bound=1)
flags.DEFINE_bool("sample_quality", True, "Also measure each run's samples (FID, ...).")
flags.DEFINE_integer(
    "sample_quality_examples",
    10000,
    "Test images compared with as many samples per run.",
    lower_bound=2,
)
flags.DEFINE_integer("judge_epochs", 3, "Epochs of the judge classifier.", lower_bound=1)

FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_logs(FLAGS)
    values = cli.setting_values(FLAGS.vary, FLAGS.values)
    try:
        rows = sweeps.run_comparison(
            cli.config_from_flags(FLAGS),
            FLAGS.vary,
            values,
            FLAGS.output_dir,
            num_samples=FLAGS.k,
            num_examples=FLAGS.num_examples,
            sample_quality=FLAGS.sample_quality,
            sample_quality_examples=FLAGS.sample_quality_examples,
            judge_epochs=FLAGS.judge_epochs,
        )
    except ValueError as error:
        raise app.UsageError(str(error))
    for row in rows:
        print(f"--{FLAGS.vary}={row['value']}: {sweeps.describe_result(row)}")
    print(f"wrote {FLAGS.output_dir}/comparison.csv and comparison.png")


if __name__ == "__main__":
    cli.run(main, interrupted="the finished runs stay in output_dir; run the same command to go on")
