"""Measures how often a conditional VAE draws the digit it is asked for.

    python scripts/conditional_accuracy.py --run_dir=runs/conv_latent2_<time>

Judges the run's samples with an independent CNN classifier of its dataset
(MNIST, Fashion-MNIST, CIFAR-10, a labelled .npz or class folders), trained
on its training images the first time (half a minute for MNIST on a 2-core
CPU) and cached (vae_tf.metrics.judge); on MNIST it must reach 98% on the
test set. Draws --per_label images for each class from the run's conditional
VAE (z from the prior) and prints the fraction the classifier recognises as
the requested class, overall and per class.
"""

import sys

from absl import app
from absl import flags

from vae_tf import cli
from vae_tf.metrics import conditional_accuracy
from vae_tf.metrics.judge import load_judge
from vae_tf.runs import data_source
from vae_tf.runs import load_run
from vae_tf.runs import read_config
from vae_tf.utils.files import write_json

flags.DEFINE_string(
    "run_dir", None, "Run directory of a --conditional training run.", required=True
)
flags.DEFINE_integer("per_label", 1000, "Images generated per digit.", lower_bound=1)
flags.DEFINE_integer("judge_epochs", 3, "Epochs of the judge classifier.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of z.", lower_bound=0)
flags.DEFINE_string("output_json", None, "Also write the results to this JSON file.")

FLAGS = flags.FLAGS
# The judge must be this good on held-out images before its verdict counts.
MIN_JUDGE_ACCURACY = {"mnist": 0.98}


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    model = load_run(FLAGS.run_dir).model
    if not model.conditional:
        raise ValueError(f"{FLAGS.run_dir} holds an unconditional VAE: train with --conditional.")
    source = data_source(read_config(FLAGS.run_dir))
    judge = load_judge(source, FLAGS.judge_epochs, verbose=2)
    accuracy = judge.test_accuracy
    if accuracy is not None:
        print(f"judge classifier: {accuracy:.2%} on the held-out images of {source.name}")
    minimum = MIN_JUDGE_ACCURACY.get(source.name, 0.0)
    if accuracy is not None and accuracy < minimum:
        print(
            f"conditional_accuracy.py: error: the judge must reach {minimum:.0%}; train it "
            f"longer (--judge_epochs).",
            file=sys.stderr,
        )
        sys.exit(1)
    print("Generating and judging images:")
    result, per_label = conditional_accuracy(
        model, judge, per_label=FLAGS.per_label, seed=FLAGS.seed, progress=True
    )
    print(
        f"conditional accuracy: {result:.2%} of {len(per_label) * FLAGS.per_label:,} "
        f"generated images (latent_dim {model.latent_dim})"
    )
    print("per class: " + "  ".join(f"{d}: {a:.1%}" for d, a in enumerate(per_label)))
    if FLAGS.output_json:
        write_json(
            {
                "accuracy": result,
                "per_label": per_label.tolist(),
                "classifier_accuracy": accuracy,
                "judge_dir": judge.path,
                "latent_dim": model.latent_dim,
                "per_label_count": FLAGS.per_label,
            },
            FLAGS.output_json,
        )


if __name__ == "__main__":
    cli.run(main)
