"""Makes the presets shipped in the package, each from its recipe (vae_tf.presets.SHIPPED_PRESETS).

    python scripts/make_presets.py                                  # all of them
    python scripts/make_presets.py --presets=mnist_conv_latent2 --runs_dir=runs/presets
    python scripts/make_presets.py --table        # docs/presets.md's table, made nothing

For each preset: trains its run in --runs_dir/<name> with its train.py
command (or finishes an interrupted one; a finished run is used as it is, if
its settings are the recipe's), evaluates it with its protocol (kept in the
run as preset_evaluation.json, so a second call does not measure again),
measures the small slice that the tests check, and writes the preset folder
into --out_dir (by default the package's own, vae_tf/presets/shipped). Some
take hours on a 2-core CPU: the PixelCNN one trains for about 50 minutes
alone (3 hours beside other jobs) and its evaluation takes over an hour.
docs/presets.md has the table.
"""

from absl import app
from absl import flags

from vae_tf import cli
from vae_tf import presets
from vae_tf.presets.loading import SHIPPED_DIR

flags.DEFINE_list(
    "presets",
    presets.list_presets(),
    "The presets to make, comma-separated; default: all of them.",
)
flags.DEFINE_string("runs_dir", "runs/presets", "Where their training runs are (or go).")
flags.DEFINE_string("out_dir", SHIPPED_DIR, "Where the preset folders are written.")
flags.DEFINE_bool(
    "table",
    False,
    "Print the markdown table of the presets in --out_dir instead (docs/presets.md).",
)

FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    unknown = sorted(set(FLAGS.presets) - set(presets.list_presets()))
    if unknown:
        raise app.UsageError(
            f"--presets: no recipe for {', '.join(unknown)}; the presets are "
            f"{', '.join(presets.list_presets())}."
        )
    if FLAGS.table:
        print(presets.presets_table(FLAGS.out_dir))
        return
    cli.quiet_logs()
    for name in FLAGS.presets:
        metadata = presets.make_preset(name, FLAGS.runs_dir, FLAGS.out_dir)
        print(
            f"wrote {FLAGS.out_dir}/{name} ({metadata['weights_bytes'] / 1e6:.1f} MB of weights, "
            f"{metadata['parameter_count']:,} parameters)"
        )


if __name__ == "__main__":
    cli.run(main, interrupted="the preset being made is not written; run the same command again")
