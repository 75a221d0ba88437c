"""Measures how often a conditional VAE draws the digit it is asked for.

    python scripts/conditional_accuracy.py --run_dir=runs/conv_latent2_<time>

Trains an independent CNN digit classifier on the MNIST training set (about a
minute on a 2-core CPU; it must reach 98% on the test set), draws --per_label
images for each digit from the run's conditional VAE (z from the prior), and
prints the fraction the classifier recognises as the requested digit, overall
and per digit.
"""

import json
import sys

from absl import app
from absl import flags

from vae_tf import cli
from vae_tf import evaluation
from vae_tf.runs import load_run
from vae_tf.runs import read_config

flags.DEFINE_string("run_dir", None, "Run directory of a --conditional training run.",
                    required=True)
flags.DEFINE_integer("per_label", 1000, "Images generated per digit.", lower_bound=1)
flags.DEFINE_integer("classifier_epochs", 3, "Epochs of the judge classifier.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of the classifier and of z.", lower_bound=0)
flags.DEFINE_string("output_json", None, "Also write the results to this JSON file.")

FLAGS = flags.FLAGS
MIN_CLASSIFIER_ACCURACY = 0.98


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    model = load_run(FLAGS.run_dir).model
    if not model.conditional:
        raise ValueError(f"{FLAGS.run_dir} holds an unconditional VAE: train with "
                         "--conditional.")
    config = read_config(FLAGS.run_dir)
    if config.data_dir is not None or config.dataset != "mnist":
        raise ValueError(f"{FLAGS.run_dir} was not trained on MNIST: the judge is an "
                         "MNIST digit classifier.")
    print(f"Training the judge classifier ({FLAGS.classifier_epochs} epochs on MNIST):")
    classifier, test_accuracy = evaluation.train_digit_classifier(
        epochs=FLAGS.classifier_epochs, seed=FLAGS.seed, verbose=1
    )
    print(f"judge classifier: {test_accuracy:.2%} on the 10,000 MNIST test images")
    if test_accuracy < MIN_CLASSIFIER_ACCURACY:
        print(f"conditional_accuracy.py: error: the judge must reach "
              f"{MIN_CLASSIFIER_ACCURACY:.0%}; train it longer (--classifier_epochs).",
              file=sys.stderr)
        sys.exit(1)
    print("Generating and judging digits:")
    accuracy, per_label = evaluation.conditional_accuracy(
        model, classifier, per_label=FLAGS.per_label, seed=FLAGS.seed, progress=True
    )
    print(f"conditional accuracy: {accuracy:.2%} of {len(per_label) * FLAGS.per_label:,} "
          f"generated digits (latent_dim {model.latent_dim})")
    print("per digit: " + "  ".join(f"{d}: {a:.1%}" for d, a in enumerate(per_label)))
    if FLAGS.output_json:
        with open(FLAGS.output_json, "w") as f:
            json.dump({"accuracy": accuracy, "per_label": per_label.tolist(),
                       "classifier_accuracy": test_accuracy,
                       "latent_dim": model.latent_dim, "per_label_count": FLAGS.per_label}, f,
                      indent=2)


if __name__ == "__main__":
    cli.run(main)
