"""The judge: an independent classifier of a dataset's real images, trained once and cached.

Sample quality is measured through the eyes of a classifier that never saw
a generated image: its 128 penultimate activations are the feature space of
the Fréchet distance and of precision and recall (the "FID" of MNIST-like
data), and its predictions judge whether a conditional VAE draws the class
it is asked for. The classifier (two convolution blocks, a 128-unit
`features` layer, dropout, softmax) is trained on the training split of the
run's own dataset (MNIST, Fashion-MNIST, CIFAR-10, a labelled .npz, a folder
with one sub-folder per class) and scored on its held-out split.

A judge is trained once per dataset and recipe and kept in
`judge_cache_dir()`: `$VAE_TF_CACHE/judges` if that variable is set, else
`$XDG_CACHE_HOME/vae_tf/judges`, else `~/.cache/vae_tf/judges`. Its folder,
`<dataset>-<fingerprint>/epochs<E>-seed<S>/`, holds `judge.keras` and
`judge.json` (the dataset, its fingerprint, the held-out accuracy, the
versions). The fingerprint is the name of a built-in dataset, the SHA-256
of an .npz file, or the names, sizes and times of a folder's files with the
image size and split: a changed file gets a new judge. Unlabelled data has
no judge (`NoJudgeError`).

Example:

```python
from vae_tf.data import get_source
judge = load_judge(get_source("mnist"))       # about a minute the first time, then instant
judge.test_accuracy                            # about 0.99
features = judge.features(x_test)              # (N, 128)
probabilities = judge.predict(x_test)          # (N, 10), as keras.Model.predict
```
"""

import hashlib
import math
import os
import re
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from vae_tf.utils.checks import check_positive_int
from vae_tf.utils.files import cache_dir
from vae_tf.utils.files import file_sha256
from vae_tf.utils.files import read_json
from vae_tf.utils.files import write_json

FEATURE_LAYER = "features"
FEATURE_DIM = 128
JUDGE_FILE = "judge.keras"
INFO_FILE = "judge.json"


class NoJudgeError(ValueError):
    """The dataset carries no labels, so no classifier can be trained to judge it."""


def build_judge(image_shape, num_classes):
    """The judge's network: two conv + pool blocks, a 128-unit `features` layer, softmax."""
    return keras.Sequential(
        [
            keras.Input(shape=tuple(image_shape)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(FEATURE_DIM, activation="relu", name=FEATURE_LAYER),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax", name="classes"),
        ],
        name="judge",
    )


class Judge:
    """A trained classifier of real images and its penultimate features.

    Args:
        classifier: A Keras model with a `features` layer (`build_judge`).
        info: What `judge.json` says: `dataset`, `fingerprint`,
            `test_accuracy`, `epochs`, `seed`, ...
        path: The folder it was loaded from, if any.
    """

    def __init__(self, classifier, info=None, path=None):
        self.classifier = classifier
        self.info = dict(info or {})
        self.path = path
        both = keras.Model(
            classifier.inputs,
            [classifier.get_layer(FEATURE_LAYER).output, classifier.outputs[0]],
        )
        # One traced call per batch size; the number of images is left free.
        self._call = tf.function(
            lambda images: both(images, training=False),
            input_signature=[tf.TensorSpec((None, *classifier.input_shape[1:]), tf.float32)],
        )

    @property
    def image_shape(self):
        return tuple(self.classifier.input_shape[1:])

    @property
    def num_classes(self):
        return int(self.classifier.output_shape[-1])

    @property
    def test_accuracy(self):
        """Accuracy on the dataset's held-out images (None if it had none)."""
        return self.info.get("test_accuracy")

    def judge(self, images, batch_size=1000):
        """`(features (N, 128), class probabilities (N, classes))` of `images` in [0, 1]."""
        images = np.asarray(images, "float32")
        if images.shape[1:] != self.image_shape:
            raise ValueError(
                f"The judge of {self.info.get('dataset', 'this dataset')} sees images of "
                f"shape {self.image_shape}; got {images.shape[1:]}."
            )
        parts = [
            self._call(tf.constant(images[start : start + batch_size]))
            for start in range(0, len(images), batch_size)
        ]
        return (
            np.concatenate([part[0].numpy() for part in parts]),
            np.concatenate([part[1].numpy() for part in parts]),
        )

    def features(self, images, batch_size=1000):
        """The 128 penultimate activations of each image: `(N, 128)`."""
        return self.judge(images, batch_size)[0]

    def predict(self, images, verbose=0, batch_size=1000):
        """Class probabilities `(N, classes)`, as `keras.Model.predict` returns them."""
        del verbose  # the signature of keras.Model.predict, for code written against it
        return self.judge(images, batch_size)[1]


def judge_cache_dir():
    """Where judges are kept (see the module's docstring)."""
    return cache_dir("judges")


def fingerprint(source):
    """What identifies `source`'s data: a short hex digest (see the module's docstring)."""
    digest = hashlib.sha256(repr(tuple(source.image_shape)).encode())
    if source.folder is not None:
        folder = source.folder
        digest.update(f"folder {folder.image_size} {folder.channels}".encode())
        for split in ("train", "validation"):
            for path in folder.paths(split):
                status = os.stat(path)
                relative = os.path.relpath(path, folder.data_dir)
                digest.update(
                    f"{split}\t{relative}\t{status.st_size}\t{status.st_mtime_ns}\n".encode()
                )
    elif os.path.isfile(source.name):
        digest.update(file_sha256(source.name).encode())
    else:
        digest.update(source.name.encode())
    return digest.hexdigest()[:16]


def judge_dir(source, epochs=3, seed=0, cache_dir=None):
    """The cache folder of the judge of `source` trained with this recipe."""
    stem = os.path.basename(os.path.normpath(source.name)) or "data"
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)[:40]
    recipe = f"epochs{epochs}-seed{seed}"
    return os.path.join(cache_dir or judge_cache_dir(), f"{stem}-{fingerprint(source)}", recipe)


def _training_data(source, batch_size, seed):
    """`(train dataset, held-out (images, labels) or dataset or None, steps per epoch)`."""
    no_labels = NoJudgeError(
        f"{source.name} carries no labels, so there is no judge for its samples: sample "
        "quality is measured in the feature space of a classifier of its classes. Give it "
        "labels (an .npz with y_train and y_test, or a folder with one sub-folder per "
        "class) to measure FID, precision and recall."
    )
    if source.num_classes is None:
        raise no_labels
    if source.folder is not None:
        folder = source.folder
        train = folder.dataset("train", batch_size, shuffle=True, seed=seed, labels=True)
        held_out = len(folder.paths("validation")) > 0
        test = folder.dataset("validation", 1000, labels=True) if held_out else None
        # Skipped unreadable files make the length unknown: epochs by count.
        steps = math.ceil(len(folder.paths("train")) / batch_size)
        return train.repeat(), test, steps
    (x_train, y_train), (x_test, y_test) = source.load()
    if y_train is None:
        raise no_labels
    train = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .shuffle(len(x_train), seed=seed)
        .batch(batch_size)
    )
    test = None if y_test is None or not len(y_test) else (x_test, y_test)
    return train, test, None


def train_judge(source, epochs=3, seed=0, batch_size=128, verbose=0):
    """Trains a judge on `source`'s training split and scores it on its held-out one.

    Args:
        source: A `vae_tf.data.DataSource` with labels.
        epochs: Passes over the training images (3 gives about 99% on MNIST).
        seed: Seed of the weights, dropout and order.
        batch_size: Images per step.
        verbose: Keras' fit verbosity.

    Returns:
        A `Judge` (not cached: `load_judge` caches).

    Raises:
        NoJudgeError: for unlabelled data.
    """
    check_positive_int("epochs", epochs)
    train, test, steps = _training_data(source, batch_size, seed)
    keras.utils.set_random_seed(seed)
    classifier = build_judge(source.image_shape, source.num_classes)
    classifier.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    # The dataset is shuffled by its own seed.
    classifier.fit(train, epochs=epochs, steps_per_epoch=steps, shuffle=False, verbose=verbose)
    judge = Judge(classifier)
    accuracy = None
    if test is not None:
        # Counted by hand: Keras' evaluate warns on a folder's stream, whose
        # announced length counts the unreadable files it skips.
        batches = [test] if isinstance(test, tuple) else test.as_numpy_iterator()
        correct = total = 0
        for images, labels in batches:
            correct += int(np.sum(judge.predict(images).argmax(axis=-1) == labels))
            total += len(labels)
        accuracy = correct / total
    info = {
        "dataset": source.name,
        "fingerprint": fingerprint(source),
        "image_shape": list(source.image_shape),
        "num_classes": source.num_classes,
        "epochs": epochs,
        "seed": seed,
        "test_accuracy": accuracy,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    judge.info.update(info)
    return judge


def _save(judge, folder):
    """Writes the judge's folder whole or not at all (a temp folder renamed into place)."""
    parent = os.path.dirname(folder)
    os.makedirs(parent, exist_ok=True)
    partial = tempfile.mkdtemp(prefix=".partial-", dir=parent)
    try:
        judge.classifier.save(os.path.join(partial, JUDGE_FILE))
        write_json({**judge.info}, os.path.join(partial, INFO_FILE))
        if os.path.isdir(folder):  # a broken earlier copy (a whole one is loaded instead)
            shutil.rmtree(folder)
        try:
            os.rename(partial, folder)
        except OSError:
            if not os.path.isfile(os.path.join(folder, INFO_FILE)):
                raise  # another process's judge won the race otherwise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    judge.path = folder


def _load(folder):
    info = read_json(os.path.join(folder, INFO_FILE))
    classifier = keras.saving.load_model(os.path.join(folder, JUDGE_FILE))
    return Judge(classifier, info, folder)


def load_judge(source, epochs=3, seed=0, cache_dir=None, log=print, verbose=0):
    """The cached judge of `source`, trained and cached first if there is none.

    Args:
        source: A `vae_tf.data.DataSource` with labels.
        epochs, seed: The recipe (`train_judge`); each recipe is cached apart.
        cache_dir: Folder of the judges; default `judge_cache_dir()`.
        log: Called with one line when a judge is trained or a damaged copy
            replaced (None: silent).
        verbose: Keras' fit verbosity while training.

    Returns:
        A `Judge`; `judge.info["cached"]` says whether it came from the cache.

    Raises:
        NoJudgeError: for unlabelled data.
    """
    folder = judge_dir(source, epochs, seed, cache_dir)
    if os.path.isfile(os.path.join(folder, INFO_FILE)):
        try:
            judge = _load(folder)
            judge.info["cached"] = True
            return judge
        except Exception as error:  # a damaged cache is ours to replace, not the user's
            if log:
                log(f"The cached judge in {folder} is unreadable ({error}); training a new one.")
    if log:
        log(
            f"Training the judge classifier of {source.name} ({epochs} epochs; cached in {folder}):"
        )
    judge = train_judge(source, epochs, seed, verbose=verbose)
    _save(judge, folder)
    judge.info["cached"] = False
    return judge
