"""What TensorBoard shows of a VAE beyond scalars: images per epoch and the latent projector.

- `TensorBoardImages`: every epoch, images decoded from fixed prior codes,
  reconstructions of fixed validation images, and (2-D latent spaces) the
  latent grid, so the Images tab shows them improving step by step.
- `TensorBoardProjector`: at the end of training, the codes (posterior
  means) of validation images for the Projector tab (PCA, t-SNE, UMAP), with
  a sprite of the images and their labels as metadata.

`tensorboard_callbacks(log_dir, images, labels)` gives both beside Keras' own
`TensorBoard` callback, as `vae_tf.train` uses them (`RUN/logs/train`,
`validation`, `images`, `projector`).

Example:

```python
vae.fit(x_train, epochs=10, callbacks=[
    keras.callbacks.TensorBoard("logs"),
    TensorBoardImages("logs/images", x_test[:8]),
    TensorBoardProjector("logs/projector", x_test[:1000], y_test[:1000]),
])
# then: tensorboard --logdir logs
```
"""

import math
import os

import keras
import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorboard.plugins import projector

from vae_tf import latent
from vae_tf.utils.files import atomic_path
from vae_tf.utils.images import png_bytes
from vae_tf.utils.images import tile_images

SPRITE_FILE = "sprite.png"
METADATA_FILE = "metadata.tsv"
TENSORS_FILE = "codes.tsv"
CONFIG_FILE = "projector_config.pbtxt"  # the name the projector looks for
# The projector's limit on a sprite's side, in pixels.
MAX_SPRITE_SIDE = 8192
# Of a run's validation images: reconstructed every epoch; encoded for the projector.
RECONSTRUCTED_IMAGES = 8
PROJECTED_IMAGES = 1000


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor).astype("float32")


class TensorBoardImages(keras.callbacks.Callback):
    """Writes image summaries at the end of every epoch (step = epochs done).

    Tags: `samples` (the same prior codes every epoch; a conditional model
    draws one row per class), `reconstructions` (the images over their
    reconstructions from the posterior mean) and, for a 2-D latent space,
    `latent_grid` (`latent_grid/label_<k>` per class when conditional).

    Args:
        log_dir: The summary directory.
        images: The validation images to reconstruct `(N, H, W, C)`, a few.
        labels: Their labels (conditional models).
        seed: Chooses the prior codes.
        samples: Samples per row and rows (8: an 8x8 grid).
        grid_size: Images per side of the latent grid.
    """

    def __init__(self, log_dir, images, labels=None, seed=0, samples=8, grid_size=15):
        super().__init__()
        self.log_dir = log_dir
        self.images = np.asarray(images, "float32")
        self.labels = None if labels is None else np.asarray(labels)
        self.seed = seed
        self.samples = samples
        self.grid_size = grid_size
        self._writer = None
        self._codes = None

    def _draw(self):
        model = self.model
        drawn = {}
        if model.conditional:
            rows = model.num_classes
            sample_labels = np.repeat(np.arange(rows), self.samples)
        else:
            rows, sample_labels = self.samples, None
        if self._codes is None:
            self._codes = latent.prior_codes(model, rows * self.samples, self.seed, sample_labels)
        drawn["samples"] = tile_images(
            _numpy(model.decode(self._codes, sample_labels)), cols=self.samples
        )
        labels = self.labels if model.conditional else None
        reconstructions = _numpy(model.reconstruct(self.images, labels))
        drawn["reconstructions"] = tile_images(
            np.concatenate([self.images, reconstructions]), cols=len(self.images)
        )
        if model.latent_dim == 2:
            grid = latent.latent_grid_coordinates(self.grid_size)
            for label in range(model.num_classes) if model.conditional else [None]:
                tag = "latent_grid" if label is None else f"latent_grid/label_{label}"
                drawn[tag] = tile_images(_numpy(model.decode(grid, label)), cols=self.grid_size)
        return drawn

    def on_epoch_end(self, epoch, logs=None):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default():
            for tag, image in self._draw().items():
                tf.summary.image(tag, np.clip(image, 0.0, 1.0)[None], step=epoch + 1)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class TensorBoardProjector(keras.callbacks.Callback):
    """Writes the codes of `images` for TensorBoard's projector when training ends.

    Files in `log_dir`: `codes.tsv` (one posterior mean per row; codes of
    fewer than 3 dimensions get zero columns up to 3, for the projector's PCA),
    `metadata.tsv` (the labels, if any), `sprite.png` (the images in a
    square grid) and `projector_config.pbtxt` tying them together. Each is
    replaced whole, so a resumed run shows its final codes.

    Args:
        log_dir: The projector's directory.
        images: The images to encode `(N, H, W, C)`; as many as fit a sprite
            of 8192 pixels a side.
        labels: Their labels, or None. A conditional model needs them.
    """

    def __init__(self, log_dir, images, labels=None):
        super().__init__()
        images = np.asarray(images, "float32")
        side = math.ceil(math.sqrt(len(images)))
        if side * max(images.shape[1:3]) > MAX_SPRITE_SIDE:
            raise ValueError(
                f"{len(images)} images of {images.shape[1]}x{images.shape[2]} make a sprite "
                f"wider than TensorBoard's {MAX_SPRITE_SIDE} pixels: pass fewer."
            )
        self.log_dir = log_dir
        self.images = images
        self.labels = None if labels is None else np.asarray(labels)

    def on_train_end(self, logs=None):
        model = self.model
        labels = self.labels if model.conditional else None
        codes = latent.encode_means(model, self.images, labels)
        # One row per image, of numbers (a VQ-VAE's: its code vectors).
        codes = _numpy(model.code_vectors(codes)).reshape(len(codes), -1)
        os.makedirs(self.log_dir, exist_ok=True)
        # The projector's PCA takes three components: of 2-D codes it drew
        # nothing ("Total variance described: NaN%"). Zero columns fix it
        # and change no distance.
        padded = np.pad(codes, [(0, 0), (0, max(0, 3 - codes.shape[1]))])
        with atomic_path(os.path.join(self.log_dir, TENSORS_FILE)) as partial:
            np.savetxt(partial, padded, delimiter="\t", fmt="%.6g")
        config = projector.ProjectorConfig()
        embedding = config.embeddings.add()
        embedding.tensor_name = "codes (posterior means)"
        embedding.tensor_path = TENSORS_FILE
        if self.labels is not None:
            # One column: the projector then wants no header row.
            with atomic_path(os.path.join(self.log_dir, METADATA_FILE)) as partial:
                with open(partial, "w") as f:
                    f.writelines(f"{label}\n" for label in self.labels)
            embedding.metadata_path = METADATA_FILE
        sprite = tile_images(self.images, cols=math.ceil(math.sqrt(len(self.images))))
        with atomic_path(os.path.join(self.log_dir, SPRITE_FILE)) as partial:
            with open(partial, "wb") as f:
                f.write(png_bytes(sprite))
        embedding.sprite.image_path = SPRITE_FILE
        embedding.sprite.single_image_dim.extend([self.images.shape[2], self.images.shape[1]])
        with atomic_path(os.path.join(self.log_dir, CONFIG_FILE)) as partial:
            with open(partial, "w") as f:
                f.write(text_format.MessageToString(config))
        # TensorBoard lists as runs only folders with event files: this one
        # says what the projector shows (in the Text tab).
        with tf.summary.create_file_writer(self.log_dir).as_default():
            tf.summary.text("projector", self.description(codes.shape), step=0)

    def description(self, shape):
        """What the projector shows, in a sentence."""
        labelled = ", coloured by label" if self.labels is not None else ""
        return (
            f"{shape[0]} validation images encoded to their posterior means "
            f"({shape[1]}-D){labelled}: open the Projector tab."
        )


def tensorboard_callbacks(log_dir, images, labels=None, seed=0):
    """Keras' `TensorBoard` (scalars, graph) and ours (images, projector) under `log_dir`.

    `images` (and `labels`) are validation images: the first 8 are
    reconstructed every epoch, the first 1,000 encoded for the projector.
    """
    labels = None if labels is None else np.asarray(labels)
    return [
        keras.callbacks.TensorBoard(log_dir),
        TensorBoardImages(
            os.path.join(log_dir, "images"),
            images[:RECONSTRUCTED_IMAGES],
            None if labels is None else labels[:RECONSTRUCTED_IMAGES],
            seed=seed,
        ),
        TensorBoardProjector(
            os.path.join(log_dir, "projector"),
            images[:PROJECTED_IMAGES],
            None if labels is None else labels[:PROJECTED_IMAGES],
        ),
    ]
