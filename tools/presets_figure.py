"""docs/presets.png: a row of samples from each shipped preset.

    python tools/presets_figure.py --out=docs/presets.png

Each row is ten images drawn from the preset's prior (seed 0; one per digit
for the conditional model), as `vae_tf.from_preset(name).sample` gives them.
"""

import os
import sys

from absl import app
from absl import flags
from matplotlib.figure import Figure

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import vae_tf  # noqa: E402
from vae_tf.plotting.drawing import save_figure  # noqa: E402
from vae_tf.plotting.drawing import strip_axes  # noqa: E402
from vae_tf.utils.images import tile_images  # noqa: E402

flags.DEFINE_string("out", "docs/presets.png", "The figure's file.")
flags.DEFINE_integer("count", 10, "Samples per preset.", lower_bound=1)

FLAGS = flags.FLAGS


def _rgb(images):
    """Grey images as three equal channels, so that every row shares one colour scale."""
    images = np.asarray(images)
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def main(argv):
    del argv
    names = vae_tf.presets.list_presets()
    strips = []
    for name in names:
        model = vae_tf.from_preset(name)
        labels = np.arange(FLAGS.count) % 10 if model.conditional else None
        images = _rgb(model.sample(FLAGS.count, seed=0, labels=labels))
        # The 28x28 digits at the size of the 64x64 faces, so that the rows line up.
        images = keras.ops.convert_to_numpy(keras.ops.image.resize(images, (64, 64)))
        strips.append(tile_images(images, 1, FLAGS.count))
    fig = Figure(figsize=(FLAGS.count * 0.9, len(names) * 1.0))
    strip_axes(fig, len(names), strips, names)
    print(f"wrote {save_figure(fig, FLAGS.out)}")


if __name__ == "__main__":
    app.run(main)
