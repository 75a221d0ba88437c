"""Datasets as validated arrays and `tf.data` pipelines.

MNIST ships with the package (`vae_tf/_data/mnist.npz`, the Keras-format
uint8 arrays), so everything runs offline.

Example:

```python
(x_train, y_train), (x_test, y_test) = load_mnist()   # float32 in [0, 1]
train_ds = make_dataset(x_train, batch_size=128, shuffle=True, seed=0)
vae.fit(train_ds, epochs=10)
```
"""

import functools
import numbers
import os
import secrets
import zipfile

import numpy as np
import tensorflow as tf

from vae_tf._checks import check_positive_int

MNIST_PATH = os.path.join(os.path.dirname(__file__), "_data", "mnist.npz")
_MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")
MNIST_CLASSES = 10
MNIST_SHAPE = (28, 28, 1)


def load_mnist(path=None):
    """Loads MNIST as float32 images in [0, 1] with integer labels.

    Args:
        path: A Keras-format `mnist.npz` (uint8 arrays `x_train`, `y_train`,
            `x_test`, `y_test`). Defaults to the copy bundled with vae_tf.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: images of shape
        `(N, 28, 28, 1)`, float32 in [0, 1]; labels int32 of shape `(N,)`.
        N is 60,000 for train and 10,000 for test.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if the file is not a readable Keras-format MNIST npz.
    """
    path = os.fspath(path or MNIST_PATH)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"MNIST data file not found: {path}. vae_tf ships it as "
            "vae_tf/_data/mnist.npz: reinstall the package (pip install -e .), "
            "or pass the path of a Keras-format mnist.npz."
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in _MNIST_KEYS if key in npz.files}
            found = sorted(npz.files)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(
            f"Cannot read {path} as an .npz file of arrays ({error}). Replace it "
            "with a Keras-format mnist.npz, or reinstall vae_tf."
        ) from error
    missing = [key for key in _MNIST_KEYS if key not in arrays]
    if missing:
        raise ValueError(
            f"{path} is not a Keras-format MNIST file: it lacks {missing} (it "
            f"has {found})."
        )
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or y.shape != (len(x),):
            raise ValueError(
                f"{path} is not a Keras-format MNIST file: x_{split} must have "
                f"shape (N, height, width) and y_{split} shape (N,); got "
                f"{x.shape} and {y.shape}."
            )

    return (
        (_as_images(arrays["x_train"]), arrays["y_train"].astype("int32")),
        (_as_images(arrays["x_test"]), arrays["y_test"].astype("int32")),
    )


# name -> (keras.datasets module name, the files Keras caches under
# $KERAS_HOME/datasets (default ~/.keras/datasets), number of classes, image shape)
_KERAS_DATASETS = {
    "fashion_mnist": (
        "fashion_mnist",
        "fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz",
        10,
        (28, 28, 1),
    ),
    "cifar10": ("cifar10", "cifar-10-batches-py-target.tar.gz (then extracted)", 10, (32, 32, 3)),
}
DATASETS = ("mnist", *_KERAS_DATASETS)


def is_npz(name):
    """Whether the dataset `name` is the path of an .npz file of arrays."""
    return os.fspath(name).endswith(".npz")


def num_classes(name):
    """Number of label classes of the dataset `name` (None for an unlabelled .npz)."""
    if name == "mnist":
        return MNIST_CLASSES
    if is_npz(name):
        (_, y_train), (_, y_test) = load_npz(name)
        return None if y_train is None else int(max(y_train.max(), y_test.max())) + 1
    return _KERAS_DATASETS[name][2]


def image_shape(name):
    """`(height, width, channels)` of the images of the dataset `name`."""
    if name == "mnist":
        return MNIST_SHAPE
    if is_npz(name):
        return load_npz(name)[0][0].shape[1:]
    return _KERAS_DATASETS[name][3]


def _as_images(x):
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., np.newaxis]
    return x.astype("float32") / 255.0


def load_dataset(name="mnist"):
    """Loads a dataset by name as float32 images in [0, 1] with int32 labels.

    `"mnist"` is the copy bundled with vae_tf (offline); `"fashion_mnist"`
    (28x28 grey) and `"cifar10"` (32x32 RGB) come through `keras.datasets`,
    which downloads them once and reads them from its cache afterwards. A
    path ending in `.npz` loads your own arrays (`load_npz`).

    Returns:
        `((x_train, y_train), (x_test, y_test))`, images `(N, H, W, C)`.

    Raises:
        ValueError: for an unknown name.
        OSError: when Keras can neither read its cached copy nor download
            one (offline), saying where the files go.
    """
    if name == "mnist":
        return load_mnist()
    if is_npz(name):
        return load_npz(name)
    if name not in _KERAS_DATASETS:
        raise ValueError(
            f"dataset must be one of {DATASETS} or the path of an .npz file; got {name!r}."
        )
    import keras

    module, files, _, _ = _KERAS_DATASETS[name]
    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, module).load_data()
    except Exception as error:  # urllib's URLError/HTTPError, OSError, a bad cached copy
        cache = os.path.join(
            os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras")),
            "datasets",
        )
        raise OSError(
            f"Cannot load {name} through keras.datasets ({type(error).__name__}: {error}). "
            f"Keras downloads it once into {cache}; without a network, copy {files} "
            "there from a machine that has it, or train on mnist (bundled)."
        ) from error
    return (
        (_as_images(x_train), np.asarray(y_train).reshape(-1).astype("int32")),
        (_as_images(x_test), np.asarray(y_test).reshape(-1).astype("int32")),
    )


_NPZ_FORMAT = (
    "a NumPy .npz (np.savez) of x_train and x_test, images of shape (N, height, width) or "
    "(N, height, width, channels), uint8 0-255 or float in [0, 1], and optionally y_train "
    "and y_test, integer class labels"
)


def load_npz(path):
    """Loads your own arrays: an .npz with `x_train`, `x_test` and optional labels.

    uint8 images are divided by 255; float images must already be in
    [0, 1]. Every array is checked (shape, NaN, range, labels), with the fix
    in the error. Nothing is unpickled.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: float32 images
        `(N, H, W, C)` in [0, 1], int32 labels or None.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: the file is not a readable .npz, or an array is wrong.

    Example:

    >>> np.savez("digits.npz", x_train=x_train, x_test=x_test)  # then --dataset=digits.npz
    >>> (x_train, _), (x_test, _) = load_npz("digits.npz")
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No such file: {path}. dataset is one of {DATASETS} or the path of {_NPZ_FORMAT}."
        )
    stat = os.stat(path)
    return _load_npz(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)
def _load_npz(path, mtime, size):
    # Cached by modification time and size: the shape, classes and arrays of
    # one file are asked for several times per run.
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(
            f"Cannot read {path} as an .npz of arrays ({error}); it must be {_NPZ_FORMAT}."
        ) from error
    missing = [key for key in ("x_train", "x_test") if key not in arrays]
    if missing:
        raise ValueError(f"{path} lacks {missing} (it has {sorted(arrays)}); it must be "
                         f"{_NPZ_FORMAT}.")
    if ("y_train" in arrays) != ("y_test" in arrays):
        raise ValueError(f"{path} must hold both y_train and y_test, or neither.")
    splits = []
    for split in ("train", "test"):
        x = arrays[f"x_{split}"]
        if x.ndim == 3:
            x = x[..., np.newaxis]
        if x.dtype == np.uint8:
            x = x.astype("float32") / 255.0
        images = check_images(x, name=f"x_{split} of {path}")
        labels = arrays.get(f"y_{split}")
        if labels is not None:
            if labels.size and np.issubdtype(labels.dtype, np.number) and labels.min() < 0:
                raise ValueError(
                    f"y_{split} of {path} holds negative classes (down to {labels.min():g}); "
                    "number the classes 0, 1, 2, ..."
                )
            labels = check_labels(
                np.ravel(labels) if labels.ndim == 2 and labels.shape[1] == 1 else labels,
                num_classes=np.iinfo("int32").max, num_images=len(images),
                name=f"y_{split} of {path}",
            )
        splits.append((images, labels))
    (x_train, y_train), (x_test, _) = splits
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(
            f"x_train and x_test of {path} must hold images of one shape; got "
            f"{x_train.shape[1:]} and {x_test.shape[1:]}."
        )
    return tuple(splits)


def check_images(images, image_shape=None, name="images"):
    """Checks that `images` is a batch of finite pixel values in [0, 1].

    Args:
        images: Array-like of shape `(N, height, width, channels)`.
        image_shape: Optional expected `(height, width, channels)`.
        name: How to call the array in error messages.

    Returns:
        The images as a float32 numpy array (no copy when already one).

    Raises:
        ValueError: naming the problem and its fix (wrong shape, empty batch,
            NaN or infinite values, values outside [0, 1]).
    """
    images = np.asarray(images)
    if not (np.issubdtype(images.dtype, np.number) or images.dtype == bool):
        raise ValueError(f"{name} must be numeric; got dtype {images.dtype}.")
    expected = "(N, height, width, channels)"
    if image_shape is not None:
        expected = f"(N, {', '.join(str(d) for d in image_shape)})"
    if images.ndim != 4:
        hint = ""
        if images.ndim == 3 and (image_shape is None or image_shape[-1] == 1):
            hint = " Add the channel axis with images[..., np.newaxis]."
        raise ValueError(
            f"{name} must have shape {expected}; got {images.shape}.{hint}"
        )
    if image_shape is not None and images.shape[1:] != tuple(image_shape):
        raise ValueError(
            f"{name} must have shape {expected} for this model; got "
            f"{images.shape}. Resize the images or build the model for "
            f"image_shape={images.shape[1:]}."
        )
    if images.shape[0] == 0:
        raise ValueError(f"{name} is empty: it holds no images.")
    images = images.astype("float32", copy=False)
    finite = np.isfinite(images)
    if not finite.all():
        bad = np.argwhere(~finite.reshape(len(images), -1).all(axis=1)).ravel()
        raise ValueError(
            f"{name} holds NaN or infinite values in {len(bad)} image(s), the "
            f"first at index {bad[0]}. Remove or repair those images."
        )
    low, high = float(images.min()), float(images.max())
    if low < 0.0 or high > 1.0:
        if low >= 0.0 and high <= 255.0:
            fix = "They look like 0-255 intensities: divide by 255."
        else:
            fix = "Rescale them to [0, 1]."
        raise ValueError(
            f"{name} must hold pixel values in [0, 1] for the Bernoulli "
            f"likelihood; got values in [{low:g}, {high:g}]. {fix}"
        )
    return images


def check_labels(labels, num_classes, num_images=None, name="labels"):
    """Checks that `labels` are integer class indices in `[0, num_classes)`.

    Args:
        labels: Array-like of shape `(N,)`; an integer stands for one label.
        num_classes: Number of classes.
        num_images: If given, the `N` the labels must match.
        name: How to call the array in error messages.

    Returns:
        The labels as an int32 numpy array of shape `(N,)`.

    Raises:
        ValueError: naming the problem (not integers, wrong shape, out of range).
    """
    labels = np.asarray(labels)
    if labels.dtype == bool or not (
        np.issubdtype(labels.dtype, np.integer)
        or (np.issubdtype(labels.dtype, np.floating) and np.all(np.mod(labels, 1) == 0))
    ):
        raise ValueError(
            f"{name} must be integer class indices; got dtype {labels.dtype}"
            + (" with fractional values." if labels.dtype.kind == "f" else ".")
            + " Pass class numbers such as 0-9, not one-hot vectors or strings."
        )
    if labels.ndim != 1:
        raise ValueError(
            f"{name} must have shape (N,), one class index per image; got {labels.shape}."
        )
    if num_images is not None and len(labels) != num_images:
        raise ValueError(
            f"{name} must hold one label per image: {num_images} images but "
            f"{len(labels)} labels."
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{name} must lie in [0, {num_classes - 1}] for {num_classes} classes; got "
            f"values in [{labels.min():g}, {labels.max():g}]."
        )
    return labels.astype("int32")


BINARIZATIONS = ("none", "dynamic", "static")


def binarize_images(images, method="dynamic", seed=0):
    """Binary copies of images in [0, 1], for likelihoods comparable with the literature.

    Args:
        images: Float images in [0, 1].
        method: `"dynamic"`: each pixel is 1 with probability equal to its
            grey value (one seeded draw: the test set of "dynamically
            binarized MNIST"); `"static"`: pixels above 0.5 become 1, as in
            the TensorFlow CVAE tutorial; `"none"`: the images unchanged.
        seed: Seed of the dynamic draw.

    Returns:
        Float32 array of the images' shape.
    """
    if method not in BINARIZATIONS:
        raise ValueError(f"method must be one of {BINARIZATIONS}; got {method!r}.")
    images = np.asarray(images, "float32")
    if method == "dynamic":
        uniform = np.random.default_rng(seed).uniform(size=images.shape)
        return (uniform < images).astype("float32")
    if method == "static":
        return (images > 0.5).astype("float32")
    return images


def _binarize(images, seed):
    noise = tf.random.stateless_uniform(tf.shape(images), seed=seed, dtype=images.dtype)
    return tf.cast(noise < images, images.dtype)


def _pass_key(seed, data_pass):
    """The stateless RNG key of one pass over the data: a function of `(seed, pass)` only."""
    return tf.random.experimental.stateless_fold_in(
        tf.constant([seed, 0], "int64"), tf.cast(data_pass, "int64")
    )


def passes(count, batch_size, make_batch, shuffle=False, seed=None, first_pass=0):
    """A dataset whose every iteration is one pass over `count` examples, in batches.

    Pass `p`'s order (a permutation when `shuffle` is on, else `0..count-1`)
    and random key depend on `(seed, p)` only; the pass counter, advanced as a
    pass starts, is the pipeline's only state.

    Args:
        count: Number of examples.
        batch_size: Examples per batch; the last batch may be smaller.
        make_batch: `make_batch(rows, key, index)` -> the elements of batch
            number `index` from the example indices `rows`, with `key`, the
            pass's stateless RNG key (shape `(2,)`; fold `index` into it).
        shuffle: Permute the examples anew at every pass (else every pass is
            pass 0).
        seed: Integer seed; None draws one.
        first_pass: Index of the first pass.

    Returns:
        A `tf.data.Dataset` of `ceil(count / batch_size)` batches.
    """
    check_positive_int("batch_size", batch_size)
    if not (isinstance(first_pass, numbers.Integral) and first_pass >= 0):
        raise ValueError(f"first_pass must be an integer >= 0; got {first_pass!r}.")
    if seed is None:
        seed = secrets.randbits(31)
    if shuffle:
        counter = tf.Variable(first_pass - 1, dtype="int64", trainable=False)

    def one_pass(_):
        key = _pass_key(seed, counter.assign_add(1) if shuffle else 0)
        order = tf.range(count, dtype="int64")
        if shuffle:
            order = tf.argsort(tf.random.stateless_uniform([count], seed=key))
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size).enumerate()
        return batches.map(lambda index, rows: make_batch(rows, key, index))

    dataset = tf.data.Dataset.range(1).flat_map(one_pass)
    return dataset.apply(tf.data.experimental.assert_cardinality(-(-count // batch_size)))


def make_dataset(
    images,
    labels=None,
    batch_size=128,
    shuffle=False,
    binarize=False,
    seed=None,
    first_pass=0,
):
    """Builds a batched, prefetched `tf.data.Dataset` from in-memory images.

    Every iteration over the dataset is one pass (an epoch) over the images.
    Pass `p`'s order and binarization depend on `(seed, p)` only, never on
    global state, so a run resumed at epoch `e` (`first_pass=e`) sees the very
    batches an uninterrupted run sees from its epoch `e` on.

    Args:
        images: Float images in [0, 1], shape `(N, H, W, C)` (validated).
        labels: Optional labels of shape `(N,)`; then elements are
            `(images, labels)` pairs, otherwise images alone.
        batch_size: Images per batch; the last batch may be smaller.
        shuffle: Reshuffle the whole set at every pass.
        binarize: Dynamic binarization: every pixel becomes 1 with probability
            equal to its grey value, drawn anew at every pass when `shuffle`
            is on (and identically at every pass when it is off, which suits
            validation data).
        seed: Integer seed of the shuffling and binarization; None draws one.
        first_pass: Index of the first pass (the epoch a resumed run starts
            at); later iterations are passes `first_pass + 1`, ...

    Returns:
        A `tf.data.Dataset` of known length (batches per pass).

    Example:

    >>> ds = make_dataset(x_train, batch_size=128, shuffle=True, seed=0)
    >>> len(ds)
    469
    """
    images = check_images(images)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(images),):
            raise ValueError(
                f"labels must have shape ({len(images)},), one per image; got "
                f"{labels.shape}."
            )
    images = tf.constant(images)
    labels = None if labels is None else tf.constant(labels)

    def gather(rows, key, index):
        batch = tf.gather(images, rows)
        if binarize:
            batch = _binarize(batch, tf.random.experimental.stateless_fold_in(key, index))
        return batch if labels is None else (batch, tf.gather(labels, rows))

    dataset = passes(len(images), batch_size, gather, shuffle, seed, first_pass)
    # The in-memory pipeline needs no tuning, and autotuning threads were seen
    # to stall a tf.data iterator's destructor for 17-32 s after fit on a
    # 2-core CPU (not reproduced with this pipeline on TF 2.21: same fit time).
    options = tf.data.Options()
    options.autotune.enabled = False
    # In-memory data has no files to split between workers: each worker
    # takes its share of every global batch.
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return dataset.prefetch(2).with_options(options)


def mnist_datasets(
    batch_size=128, train_on_all=False, binarize=False, seed=None, mnist=None, labels=False,
    first_pass=0,
):
    """The training and validation pipelines of the bundled MNIST.

    Args:
        batch_size: Images per batch.
        train_on_all: Train on all 70,000 images (as the keras.io example
            does); then there is no validation set.
        binarize: Dynamic binarization of the training images (validation
            images are binarized once, identically at every epoch).
        seed: Optional integer seed of shuffling and binarization.
        mnist: The arrays as `load_mnist()` returns them, if already loaded.
        labels: Yield `(images, labels)` pairs (for a conditional VAE).
        first_pass: The training pipeline's first pass (see `make_dataset`).

    Returns:
        `(train_dataset, validation_dataset_or_None)` yielding images, or
        `(images, labels)` pairs.
    """
    (x_train, y_train), (x_test, y_test) = mnist or load_mnist()
    if train_on_all:
        x_train, x_test = np.concatenate([x_train, x_test]), None
        y_train = np.concatenate([y_train, y_test])
    train = make_dataset(
        x_train, y_train if labels else None, batch_size=batch_size, shuffle=True,
        binarize=binarize, seed=seed, first_pass=first_pass,
    )
    validation = None
    if x_test is not None:
        validation = make_dataset(
            x_test, y_test if labels else None, batch_size=batch_size, binarize=binarize,
            seed=seed,
        )
    return train, validation
