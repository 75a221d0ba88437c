"""Trains a VAE on the bundled MNIST and writes a run directory.

    python scripts/train.py --latent_dim=2
    python scripts/train.py --architecture=mlp --latent_dim=20 --epochs=10
    python scripts/train.py --beta=4 --kl_warmup_epochs=10 --free_bits=0.1
    python scripts/train.py --likelihood=gaussian_learned
    python scripts/train.py --autoencoder            # the deterministic baseline
    python scripts/train.py --helpfull        # every flag

The run directory (--output_dir, by default runs/<architecture>_latent<d>_<time>)
holds config.json, history.csv, vae.keras, saved_model/, encoder.png,
decoder.png and the figures (loss, latent_scatter, reconstructions, samples,
interpolation, latent_traversal and, for a 2-D latent space, latent_grid;
conditional runs draw style_grid, analogies and one latent grid per digit
instead of the interpolations); scripts/visualize.py redraws them.
"""

import sys

from absl import app
from absl import flags
from absl import logging

import vae_tf
from vae_tf.model import LIKELIHOODS
from vae_tf.training import PRECISIONS
from vae_tf.training import TrainConfig

_DEFAULTS = TrainConfig()
_JIT = {"auto": "auto", "true": True, "false": False}

flags.DEFINE_integer("latent_dim", _DEFAULTS.latent_dim, "Size of the latent code.", lower_bound=1)
flags.DEFINE_enum(
    "architecture", _DEFAULTS.architecture, sorted(vae_tf.PRESETS),
    "Encoder/decoder preset: conv (the keras.io example) or mlp (784-400-latent).",
)
flags.DEFINE_integer("epochs", _DEFAULTS.epochs, "Passes over the training set.", lower_bound=1)
flags.DEFINE_integer("batch_size", _DEFAULTS.batch_size, "Images per step.", lower_bound=1)
flags.DEFINE_float("learning_rate", _DEFAULTS.learning_rate, "Adam learning rate (> 0).")
flags.DEFINE_float(
    "beta", _DEFAULTS.beta, "Weight of the KL term (beta-VAE); 1 is the true ELBO.",
    lower_bound=0.0,
)
flags.DEFINE_integer(
    "kl_warmup_epochs", _DEFAULTS.kl_warmup_epochs,
    "KL warm-up: the KL weight grows linearly from 0 to --beta over this many epochs "
    "(0: off).", lower_bound=0,
)
flags.DEFINE_integer(
    "kl_warmup_steps", _DEFAULTS.kl_warmup_steps,
    "KL warm-up counted in training steps instead of epochs (0: off).", lower_bound=0,
)
flags.DEFINE_integer(
    "kl_cycles", _DEFAULTS.kl_cycles,
    "Cyclical KL annealing (Fu et al., 2019): this many warm-up cycles over the run "
    "(0: off).", lower_bound=0,
)
flags.DEFINE_float(
    "kl_cycle_ratio", _DEFAULTS.kl_cycle_ratio,
    "Fraction of each KL cycle over which the weight rises, in (0, 1].",
)
flags.DEFINE_float(
    "free_bits", _DEFAULTS.free_bits,
    "Free bits: KL floor in nats per latent dimension (0: off).", lower_bound=0.0,
)
flags.DEFINE_enum(
    "likelihood", _DEFAULTS.likelihood, list(LIKELIHOODS),
    "p(x|z): bernoulli (from logits), gaussian (fixed --sigma), gaussian_learned (one "
    "learned sigma), or mse (sum of squared errors: not a likelihood, not nats).",
)
flags.DEFINE_float(
    "sigma", _DEFAULTS.sigma,
    "Standard deviation of the Gaussian likelihoods (start value when learned).",
)
flags.DEFINE_float(
    "z_log_var_clip", _DEFAULTS.z_log_var_clip,
    "Clip z_log_var to [-clip, clip] for stability; default: off.",
)
flags.DEFINE_bool(
    "autoencoder", _DEFAULTS.autoencoder,
    "Train a deterministic autoencoder (no sampling, no KL) with the same networks: "
    "the baseline to compare with.",
)
flags.DEFINE_integer(
    "seed", _DEFAULTS.seed,
    "Seed of weights, shuffling, binarization and sampling (>= 0).", lower_bound=0,
)
flags.DEFINE_integer(
    "steps_per_epoch", _DEFAULTS.steps_per_epoch,
    "Cut each epoch to this many steps (quick trials); default: a full pass.",
    lower_bound=1,
)
flags.DEFINE_bool(
    "train_on_all", _DEFAULTS.train_on_all,
    "Train on all 70,000 images like the keras.io example (no validation set).",
)
flags.DEFINE_bool(
    "binarize", _DEFAULTS.binarize,
    "Dynamic binarization: resample every pixel as 0/1 with its grey level as "
    "probability at every epoch.",
)
flags.DEFINE_bool(
    "conditional", _DEFAULTS.conditional,
    "Conditional VAE: encoder and decoder see the digit's label; z keeps the style.",
)
flags.DEFINE_bool("run_eagerly", _DEFAULTS.run_eagerly, "Run eagerly (slow; for debugging).")
flags.DEFINE_enum(
    "jit_compile", "auto", list(_JIT),
    "XLA compilation; auto lets Keras decide (on for GPUs, off on CPU).",
)
flags.DEFINE_enum(
    "mixed_precision", _DEFAULTS.mixed_precision, list(PRECISIONS),
    "Keras dtype policy: mixed_float16 for GPUs, mixed_bfloat16 for TPUs/recent CPUs.",
)
flags.DEFINE_string(
    "output_dir", _DEFAULTS.output_dir,
    "Run directory to create (must not exist, or be empty); default "
    "runs/<architecture>_latent<d>_<time>.",
)
flags.register_validator(
    "learning_rate", lambda value: value > 0, message="--learning_rate must be > 0."
)
flags.register_validator("sigma", lambda value: value > 0, message="--sigma must be > 0.")
flags.register_validator(
    "kl_cycle_ratio", lambda value: 0 < value <= 1, message="--kl_cycle_ratio must be in (0, 1]."
)
flags.register_validator(
    "z_log_var_clip", lambda value: value is None or value > 0,
    message="--z_log_var_clip must be > 0.",
)

FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS["verbosity"].present:
        # TensorFlow's INFO logs (SavedModel writing) would bury the results.
        logging.set_verbosity(logging.WARNING)
    config = TrainConfig(
        latent_dim=FLAGS.latent_dim,
        architecture=FLAGS.architecture,
        epochs=FLAGS.epochs,
        batch_size=FLAGS.batch_size,
        learning_rate=FLAGS.learning_rate,
        beta=FLAGS.beta,
        kl_warmup_epochs=FLAGS.kl_warmup_epochs,
        kl_warmup_steps=FLAGS.kl_warmup_steps,
        kl_cycles=FLAGS.kl_cycles,
        kl_cycle_ratio=FLAGS.kl_cycle_ratio,
        free_bits=FLAGS.free_bits,
        likelihood=FLAGS.likelihood,
        sigma=FLAGS.sigma,
        z_log_var_clip=FLAGS.z_log_var_clip,
        autoencoder=FLAGS.autoencoder,
        seed=FLAGS.seed,
        steps_per_epoch=FLAGS.steps_per_epoch,
        train_on_all=FLAGS.train_on_all,
        binarize=FLAGS.binarize,
        conditional=FLAGS.conditional,
        run_eagerly=FLAGS.run_eagerly,
        jit_compile=_JIT[FLAGS.jit_compile],
        mixed_precision=FLAGS.mixed_precision,
        output_dir=FLAGS.output_dir,
    )
    try:
        config.validate()
    except ValueError as error:
        raise app.UsageError(str(error))
    try:
        vae_tf.train(config)
    except FileExistsError as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    app.run(main)
