"""Generates digits from an exported SavedModel, with TensorFlow alone.

    python scripts/generate.py --saved_model=RUN/saved_model --num=64 --out=samples.png
    python scripts/generate.py --saved_model=RUN/saved_model --z="0.5,-1;0,0" --out=points.png
    python scripts/generate.py --saved_model=CONDITIONAL_RUN/saved_model --label=7 --num=16
    python scripts/generate.py --preset=mnist_conditional --label=7 --num=16   # nothing trained

Samples z from the prior (the `sample` endpoint, seeded) or decodes the
latent points given with --z (the `decode` endpoint), and saves them as a
grid of images. It needs only tensorflow, numpy and matplotlib: no vae_tf
import, to show that the SavedModel is all a consumer needs. --preset=NAME
(a pretrained model of vae_tf.presets) imports vae_tf to export the preset's
SavedModel once into its cache, then uses that SavedModel the same way.
"""

import math
import os
import sys

import numpy as np
import tensorflow as tf
from absl import app
from absl import flags
from matplotlib.figure import Figure

flags.DEFINE_string("saved_model", None, "SavedModel directory (RUN/saved_model).")
flags.DEFINE_string(
    "preset",
    None,
    "Or a pretrained model of vae_tf.presets (a name such as mnist_conv_latent2, a preset "
    "folder, or hf://owner/name); needs vae_tf.",
)
flags.DEFINE_integer("num", 64, "How many images to sample from the prior.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of the prior samples.", lower_bound=0)
flags.DEFINE_string(
    "z",
    None,
    "Latent points to decode instead of sampling: numbers separated by commas, points "
    'by semicolons, e.g. "0.5,-1;0,0" for two points of a 2-D latent space.',
)
flags.DEFINE_list(
    "label",
    [],
    "Conditional models only: the class to draw (e.g. 7), or several (3,5,8) used in turn.",
)
flags.DEFINE_integer("cols", None, "Images per row; default: about the square root.", lower_bound=1)
flags.DEFINE_string("out", "samples.png", "Image file to write (.png, .pdf, .svg, ...).")

FLAGS = flags.FLAGS
ENDPOINTS = ("decode", "sample")


def fail(message):
    print(f"generate.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def parse_points(text, latent_dim):
    try:
        points = [
            [float(v) for v in point.split(",")] for point in text.split(";") if point.strip()
        ]
    except ValueError:
        fail(f'--z must hold numbers like "0.5,-1;0,0"; got {text!r}.')
    if not points or any(len(point) != latent_dim for point in points):
        fail(
            f"--z must give points of {latent_dim} numbers each (the model's latent size); "
            f"got {text!r}."
        )
    return np.asarray(points, "float32")


def image_grid(images, cols):
    # A copy of vae_tf.plotting.tile_images, kept here so this script runs without vae_tf.
    n, height, width, channels = images.shape
    rows = math.ceil(n / cols)
    padded = np.zeros((rows * cols, height, width, channels), images.dtype)
    padded[:n] = images
    grid = padded.reshape(rows, cols, height, width, channels).transpose(0, 2, 1, 3, 4)
    return grid.reshape(rows * height, cols * width, channels)


def _preset_saved_model(preset):
    """The SavedModel of a preset, exported once into vae_tf's cache."""
    from vae_tf import presets  # only here: the SavedModel path needs TensorFlow alone

    try:
        return presets.preset_saved_model(preset)
    except (ValueError, OSError, ImportError, RuntimeError) as error:
        fail(str(error))


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    if (FLAGS.saved_model is None) == (FLAGS.preset is None):
        fail("give --saved_model=RUN/saved_model or --preset=NAME, one of them.")
    saved_model = FLAGS.saved_model or _preset_saved_model(FLAGS.preset)
    if not os.path.isfile(os.path.join(saved_model, "saved_model.pb")):
        fail(
            f"{saved_model} is not a SavedModel directory (no saved_model.pb); "
            "pass RUN/saved_model of a run written by scripts/train.py."
        )
    try:
        loaded = tf.saved_model.load(saved_model)
    except (OSError, ValueError, IndexError, tf.errors.OpError) as error:
        # This script runs without vae_tf; vae_tf.load_saved_model also says which part.
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        fail(f"{saved_model} is damaged ({first}): export the model again.")
    missing = [name for name in ENDPOINTS if name not in loaded.signatures]
    if missing:
        fail(
            f"{saved_model} lacks the endpoint(s) {missing}: export it with "
            "vae_tf.export_saved_model."
        )
    decode_inputs = loaded.signatures["decode"].structured_input_signature[1]
    conditional = "label" in decode_inputs
    if "indices" in decode_inputs and FLAGS.z:
        fail(
            "This SavedModel is a VQ-VAE: its codes are maps of codebook indices "
            f"{tuple(decode_inputs['indices'].shape[1:])}, not latent points. Drop --z to "
            "sample from its prior, or decode index maps with loaded.decode(indices)."
        )
    if conditional and not FLAGS.label:
        fail(
            "This SavedModel is a conditional VAE: choose the class with --label=DIGIT "
            "(or several, e.g. --label=3,5,8)."
        )
    if FLAGS.label and not conditional:
        fail("--label is for conditional VAEs; this SavedModel takes no label.")
    if FLAGS.label:
        try:
            classes = [int(label) for label in FLAGS.label]
        except ValueError:
            fail(f"--label must hold integers; got {','.join(FLAGS.label)}.")
    if FLAGS.z:
        z = parse_points(FLAGS.z, decode_inputs["z"].shape[-1])
        inputs = [tf.constant(z)]
        if conditional:
            inputs.append(tf.constant(np.resize(classes, len(z)), tf.int32))
        images = loaded.decode(*inputs).numpy()
        title = f"{len(z)} decoded latent point(s)"
        if len(z) <= 8:
            title += "\n" + "; ".join(",".join(f"{v:g}" for v in point) for point in z)
    elif conditional:
        labels = tf.constant(np.resize(classes, FLAGS.num), tf.int32)
        images = loaded.sample(labels, tf.constant(FLAGS.seed)).numpy()
        title = (
            f"{FLAGS.num} samples from the prior (seed {FLAGS.seed}), "
            f"label {','.join(map(str, classes))}"
        )
    else:
        images = loaded.sample(tf.constant(FLAGS.num), tf.constant(FLAGS.seed)).numpy()
        title = f"{FLAGS.num} samples from the prior (seed {FLAGS.seed})"
    cols = FLAGS.cols or math.ceil(math.sqrt(len(images)))
    grid = image_grid(images, cols)
    rows = grid.shape[0] // images.shape[1]
    fig = Figure(figsize=(0.9 * cols + 0.4, 0.9 * rows + 0.8))
    ax = fig.add_subplot()
    if grid.shape[-1] == 1:
        ax.imshow(grid[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(np.clip(grid, 0.0, 1.0), interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize=10)
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.out)), exist_ok=True)
    fig.savefig(FLAGS.out, dpi=100, bbox_inches="tight")
    print(f"wrote {FLAGS.out} ({len(images)} images)")


if __name__ == "__main__":
    app.run(main)
