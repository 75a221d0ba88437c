"""A folder of images as streamed `tf.data` pipelines: your own pictures, CelebA-style faces.

Only the file names are held in memory: images are read, decoded (PNG, JPEG,
GIF, BMP), centre-cropped to a square and resized as batches are drawn, in
parallel, so a 200,000-image folder trains in the memory of a small one
(unless `cache="memory"` asks to keep the decoded images). One sub-folder per
class gives labels, for a conditional VAE.

Example:

```python
folder = ImageFolder("faces/", image_size=64, channels=3)
train = folder.dataset("train", batch_size=128, shuffle=True, seed=0)
validation = folder.dataset("validation", batch_size=128)
vae.fit(train, validation_data=validation, epochs=10)
images, labels = folder.load("validation", count=64)   # numpy, for figures
```
"""

import math
import os

import numpy as np
import tensorflow as tf

from vae_tf.data.pipelines import passes
from vae_tf.utils.checks import Integer
from vae_tf.utils.checks import Number
from vae_tf.utils.checks import OneOf
from vae_tf.utils.checks import check_positive_int

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
BAD_IMAGES = ("skip", "raise")
# The checks of the settings, shared with `vae_tf.TrainConfig`.
IMAGE_SIZE = Integer(minimum=1)
CHANNELS = OneOf((1, 3), description="1 (grayscale) or 3 (RGB)")
VALIDATION_SPLIT = Number(low=0.0, high=1.0, high_open=True)
BAD_IMAGES_CHECK = OneOf(BAD_IMAGES)
SPLITS = ("train", "validation")
_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM")
# With a cache, decoded images are shuffled through a buffer of this many.
_CACHED_SHUFFLE_BUFFER = 10_000


def _scan(data_dir):
    """Sorted image paths below `data_dir`, relative parts included."""
    paths = []
    for root, dirs, files in os.walk(data_dir):
        dirs.sort()
        paths.extend(
            os.path.join(root, name)
            for name in sorted(files)
            if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")
        )
    return paths


def _decode(path, image_size, channels):
    contents = tf.io.read_file(path)
    known = tf.reduce_any(
        [tf.equal(tf.strings.substr(contents, 0, len(magic)), magic) for magic in _MAGIC]
    )
    # The file's name is in the message, so that a bad file can be found.
    check = tf.debugging.Assert(known, ["Not a PNG, JPEG, GIF or BMP image:", path])
    with tf.control_dependencies([check]):
        image = tf.io.decode_image(
            contents, channels=channels, expand_animations=False, dtype=tf.float32
        )
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.minimum(height, width)
    image = tf.image.crop_to_bounding_box(
        image, (height - side) // 2, (width - side) // 2, side, side
    )
    image = tf.image.resize(image, (image_size, image_size), antialias=True)
    image = tf.clip_by_value(image, 0.0, 1.0)  # resizing may overshoot a little
    return tf.ensure_shape(image, (image_size, image_size, channels))


class ImageFolder:
    """The images below a folder, split into training and validation files.

    Args:
        data_dir: The folder. Images are searched in it and all its
            sub-folders (files ending in .png, .jpg, .jpeg, .gif, .bmp; any
            case). When every image lies in a sub-folder of `data_dir` and
            there are at least two, each sub-folder is a class (sorted names
            give labels 0, 1, ...).
        image_size: Side of the square images produced: each image is
            centre-cropped to a square, then resized (with antialiasing).
        channels: 1 (grayscale) or 3 (RGB); images are converted.
        validation_split: Fraction of the files held out for validation,
            drawn once with a fixed seed (the same files in every run).
        bad_images: `"skip"`: unreadable or corrupt files are left out, each
            reported in TensorFlow's log ("Ignoring error ... Not a PNG,
            JPEG, GIF or BMP image: <path>" or the decoder's message);
            `"raise"`: the first one stops training with that message.
        cache: None (decode at every epoch, flat memory), `"memory"` (keep the
            decoded images in RAM after the first epoch) or a file path
            prefix for an on-disk cache of the decoded images.

    Raises:
        FileNotFoundError: if `data_dir` does not exist.
        ValueError: for a folder without images or an invalid argument.
    """

    def __init__(
        self,
        data_dir,
        image_size=64,
        channels=3,
        validation_split=0.1,
        bad_images="skip",
        cache=None,
    ):
        data_dir = os.fspath(data_dir)
        if not os.path.isdir(data_dir):
            raise FileNotFoundError(f"data_dir {data_dir} is not a directory.")
        IMAGE_SIZE("image_size", image_size)
        CHANNELS("channels", channels)
        VALIDATION_SPLIT("validation_split", validation_split)
        BAD_IMAGES_CHECK("bad_images", bad_images)
        paths = _scan(data_dir)
        if not paths:
            raise ValueError(
                f"No images in {data_dir} or its sub-folders (looked for "
                f"{', '.join(IMAGE_EXTENSIONS)})."
            )
        parts = [os.path.relpath(path, data_dir).split(os.sep) for path in paths]
        classes = sorted({part[0] for part in parts if len(part) > 1})
        if len(classes) >= 2 and all(len(part) > 1 for part in parts):
            self.class_names = classes
            index = {name: i for i, name in enumerate(classes)}
            labels = np.array([index[part[0]] for part in parts], "int32")
        else:
            self.class_names = None
            labels = None
        order = np.random.default_rng(0).permutation(len(paths))
        held_out = math.ceil(validation_split * len(paths)) if validation_split else 0
        if held_out >= len(paths):
            raise ValueError(
                f"validation_split={validation_split} leaves no training image among {len(paths)}."
            )
        splits = {"train": np.sort(order[held_out:]), "validation": np.sort(order[:held_out])}
        self._files = {
            split: (
                np.array(paths, dtype=object)[rows].astype(str),
                None if labels is None else labels[rows],
            )
            for split, rows in splits.items()
        }
        self.data_dir = data_dir
        self.image_size = image_size
        self.channels = channels
        self.bad_images = bad_images
        self.cache = cache

    @property
    def image_shape(self):
        """`(image_size, image_size, channels)`."""
        return (self.image_size, self.image_size, self.channels)

    @property
    def num_classes(self):
        """Number of class sub-folders, or None when the images carry no labels."""
        return None if self.class_names is None else len(self.class_names)

    def paths(self, split="train"):
        """The image files of a split, sorted."""
        return self._split(split)[0]

    def _split(self, split):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}; got {split!r}.")
        return self._files[split]

    def dataset(
        self,
        split="train",
        batch_size=128,
        shuffle=False,
        seed=None,
        labels=False,
        first_pass=0,
    ):
        """A batched, prefetched dataset of a split: images, or `(images, labels)`.

        Args:
            split: `"train"` or `"validation"`.
            batch_size: Images per batch.
            shuffle: Reshuffle at every epoch.
            seed: Seed of the shuffling.
            labels: Yield `(images, labels)`; needs class sub-folders.
            first_pass: The epoch the iterations start at. Without a cache,
                pass `p`'s file order depends on `(seed, p)` only (see
                `vae_tf.data.passes`), so a resumed run reads the files in
                the order an uninterrupted one does; a cache is reshuffled in
                a buffer, anew in every process.
        """
        check_positive_int("batch_size", batch_size)
        paths, split_labels = self._split(split)
        if not len(paths):
            raise ValueError(f"The {split} split of {self.data_dir} holds no image.")
        if labels and split_labels is None:
            raise ValueError(
                f"The images of {self.data_dir} carry no labels: put each class in its "
                "own sub-folder (at least two) to train a conditional VAE."
            )
        decode = lambda path: _decode(path, self.image_size, self.channels)  # noqa: E731
        paths = tf.constant(paths)
        split_labels = tf.constant(split_labels) if labels else None
        if labels:
            decode_element = lambda path, label: (decode(path), label)  # noqa: E731
        else:
            decode_element = decode

        def select(rows, key, index):
            # One file per "batch" of `passes`: the images are batched once decoded.
            if labels:
                return paths[rows[0]], split_labels[rows[0]]
            return paths[rows[0]]

        # Shuffling names is cheap: the whole split, every epoch.
        dataset = passes(
            len(paths),
            1,
            select,
            shuffle=shuffle and not self.cache,
            seed=seed,
            first_pass=first_pass,
        )
        dataset = dataset.map(decode_element, num_parallel_calls=os.cpu_count() or 1)
        if self.bad_images == "skip":
            dataset = dataset.ignore_errors(log_warning=True)
        if self.cache:
            dataset = dataset.cache("" if self.cache == "memory" else os.fspath(self.cache))
            if shuffle:
                dataset = dataset.shuffle(
                    min(len(paths), _CACHED_SHUFFLE_BUFFER),
                    seed=seed,
                    reshuffle_each_iteration=True,
                )
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        return dataset.batch(batch_size).prefetch(2).with_options(options)

    def load(self, split="validation", count=1000):
        """Up to `count` decoded images of a split (and their labels) as numpy arrays.

        For figures: the split's first readable images, in file order.
        Returns `(images, labels or None)`.
        """
        check_positive_int("count", count)
        with_labels = self.class_names is not None
        batches = list(
            self.dataset(split, batch_size=count, labels=with_labels).take(1).as_numpy_iterator()
        )
        if not batches:
            raise ValueError(f"No readable image in the {split} split of {self.data_dir}.")
        if with_labels:
            return batches[0]
        return batches[0], None
