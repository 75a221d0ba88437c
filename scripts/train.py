"""Trains a VAE on MNIST (bundled), Fashion-MNIST, CIFAR-10 or a folder of images.

    python scripts/train.py --latent_dim=2
    python scripts/train.py --architecture=mlp --latent_dim=20 --epochs=10
    python scripts/train.py --beta=4 --kl_warmup_epochs=10 --free_bits=0.1
    python scripts/train.py --likelihood=gaussian_learned
    python scripts/train.py --autoencoder            # the deterministic baseline
    python scripts/train.py --architecture=mlp --latent_dim=50 --binarize \
        --objective=iwae --num_samples=5 --prior=vamp  # IWAE bound, VampPrior
    python scripts/train.py --architecture=mlp --latent_dim=50 --binarize \
        --stochastic_layers=2                        # two stochastic layers
    python scripts/train.py --strategy=mirrored      # every GPU of this machine
    python scripts/train.py --data_dir=faces/ --architecture=conv64 --latent_dim=256 \
        --learning_rate=0.0005                       # a folder of 64x64 RGB faces
    python scripts/train.py --dataset=fashion_mnist  # or cifar10 (downloaded once)
    python scripts/train.py --mixed_precision=mixed_float16   # GPUs; mixed_bfloat16: TPUs, CPUs
    python scripts/train.py --dataset=mine.npz       # your own arrays (x_train, x_test, ...)
    python scripts/train.py --output_dir=runs/a --resume --epochs=50   # train a run further
    python scripts/train.py --helpfull        # every flag

The run directory (--output_dir, by default runs/<architecture>_latent<d>_<time>)
holds config.json, history.csv, vae.keras, saved_model/, encoder.png,
decoder.png and the figures (loss, latent_scatter, reconstructions, samples,
interpolation, latent_traversal and, for a 2-D latent space, latent_grid;
conditional runs draw style_grid, analogies and one latent grid per digit
instead of the interpolations); scripts/visualize.py redraws them. Until it is
complete the run lives in <output_dir>.partial with its checkpoints: rerunning
a crashed command resumes it.
"""

from absl import app
from absl import flags

import vae_tf
from vae_tf import cli

cli.define_train_flags()
flags.DEFINE_bool(
    "resume",
    False,
    "Insist on resuming --output_dir: its interrupted run, or its finished run trained "
    "further up to --epochs. Without it, an interrupted run with the same flags resumes "
    "anyway.",
)
flags.DEFINE_bool(
    "overwrite",
    False,
    "Start afresh even if --output_dir holds a run (replaced once the new one is complete) "
    "or an interrupted one (discarded).",
)
flags.adopt_module_key_flags(cli)  # listed by --helpshort
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_logs(FLAGS)
    config = cli.config_from_flags(FLAGS)
    vae_tf.train(config, resume=FLAGS.resume, overwrite=FLAGS.overwrite)


if __name__ == "__main__":
    cli.run(
        main, interrupted="the training had not begun; run the same command to start or resume it"
    )
