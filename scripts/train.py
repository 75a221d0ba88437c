"""Trains a VAE on MNIST (bundled), Fashion-MNIST, CIFAR-10 or a folder of images.

    python scripts/train.py --latent_dim=2
    python scripts/train.py --architecture=mlp --latent_dim=20 --epochs=10
    python scripts/train.py --beta=4 --kl_warmup_epochs=10 --free_bits=0.1
    python scripts/train.py --likelihood=gaussian_learned
    python scripts/train.py --autoencoder            # the deterministic baseline
    python scripts/train.py --strategy=mirrored      # every GPU of this machine
    python scripts/train.py --data_dir=faces/ --architecture=conv64 --latent_dim=256 \
        --learning_rate=0.0005                       # a folder of 64x64 RGB faces
    python scripts/train.py --dataset=fashion_mnist  # or cifar10 (downloaded once)
    python scripts/train.py --mixed_precision=mixed_float16   # GPUs; mixed_bfloat16: TPUs, CPUs
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

import vae_tf
from vae_tf import cli

cli.define_train_flags()
flags.adopt_module_key_flags(cli)  # listed by --helpshort
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_logs(FLAGS)
    config = cli.config_from_flags(FLAGS)
    try:
        vae_tf.train(config)
    except (OSError, ValueError) as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    app.run(main)
