"""The data sources a run can train on, by name: what they hold and how to load them.

A `DataSource` says what a dataset is (image shape, number of classes, the
likelihood that suits its pixels) and how to get it (`load()` for in-memory
arrays, or `folder` for images streamed from disk). Named sources register
here (`register`); a path ending in .npz is your own arrays; a folder of
images is `folder_source(ImageFolder(...))`. A generated dataset is one more
`register` call.

Example:

```python
source = get_source("fashion_mnist")
source.image_shape, source.num_classes, source.likelihood   # (28, 28, 1), 10, "bernoulli"
(x_train, y_train), (x_test, y_test) = source.load()
```
"""

import dataclasses
from typing import Callable
from typing import Optional

from vae_tf.data import faces
from vae_tf.data import shapes
from vae_tf.data.keras_datasets import load_keras_dataset
from vae_tf.data.mnist import MNIST_CLASSES
from vae_tf.data.mnist import MNIST_SHAPE
from vae_tf.data.mnist import load_mnist
from vae_tf.data.npz import is_npz
from vae_tf.data.npz import load_npz


@dataclasses.dataclass(frozen=True)
class DataSource:
    """What a dataset holds and how to load it.

    Attributes:
        name: The dataset's name (or path).
        image_shape: `(height, width, channels)`.
        num_classes: Number of label classes; None when unlabelled.
        likelihood: The `p(x|z)` that suits its pixels, chosen by
            `likelihood="auto"`: "bernoulli" for nearly black-and-white
            digits, "gaussian_learned" (a true density of continuous
            intensities) for natural images.
        load: `load()` -> `((x_train, y_train), (x_test, y_test))`, float32
            images in [0, 1] and int32 labels (or None), for in-memory sources.
        folder: The `ImageFolder` of a streamed source (then `load` is None).
        factor_names: The names of the known generative factors of a
            generated dataset (`shapes`, `faces`), else None.
        factors: `factors(split)` -> `(N, len(factor_names))` integer factor
            indices of the images `load()` returns for `"train"` or `"test"`.
    """

    name: str
    image_shape: tuple
    num_classes: Optional[int]
    likelihood: str
    load: Optional[Callable] = None
    folder: Optional[object] = None
    factor_names: Optional[tuple] = None
    factors: Optional[Callable] = None


_SOURCES = {}


def register(name, make_source):
    """Registers `make_source()` -> `DataSource` under `name` (called when the name is used)."""
    _SOURCES[name] = make_source


def names():
    """The registered dataset names (an .npz path is accepted besides)."""
    return tuple(_SOURCES)


def factor_dataset_names():
    """The registered datasets with known factors of variation (`shapes`, `faces`)."""
    return tuple(name for name in _SOURCES if get_source(name).factors is not None)


def _npz_source(path):
    (x_train, y_train), (_, y_test) = load_npz(path)
    classes = None if y_train is None else int(max(y_train.max(), y_test.max())) + 1
    grey = x_train.shape[-1] == 1
    return DataSource(
        name=path,
        image_shape=x_train.shape[1:],
        num_classes=classes,
        likelihood="bernoulli" if grey else "gaussian_learned",
        load=lambda: load_npz(path),
    )


def get_source(name):
    """The `DataSource` of a registered name or of an .npz path.

    Raises:
        ValueError: for a name that is neither.
        FileNotFoundError, ValueError: for a missing or bad .npz (see `load_npz`).
    """
    if name in _SOURCES:
        return _SOURCES[name]()
    if is_npz(name):
        return _npz_source(name)
    raise ValueError(f"dataset must be one of {names()} or the path of an .npz file; got {name!r}.")


def folder_source(folder):
    """The `DataSource` of an `ImageFolder`: streamed, natural images."""
    return DataSource(
        name=folder.data_dir,
        image_shape=folder.image_shape,
        num_classes=folder.num_classes,
        likelihood="gaussian_learned",
        folder=folder,
    )


register("mnist", lambda: DataSource("mnist", MNIST_SHAPE, MNIST_CLASSES, "bernoulli", load_mnist))
register(
    "fashion_mnist",
    lambda: DataSource(
        "fashion_mnist", (28, 28, 1), 10, "bernoulli", lambda: load_keras_dataset("fashion_mnist")
    ),
)
register(
    "cifar10",
    lambda: DataSource(
        "cifar10", (32, 32, 3), 10, "gaussian_learned", lambda: load_keras_dataset("cifar10")
    ),
)
register(
    "shapes",
    lambda: DataSource(
        "shapes",
        shapes.SHAPES_SHAPE,
        len(shapes.SHAPE_NAMES),
        "bernoulli",
        shapes.load_shapes,
        factor_names=shapes.FACTOR_NAMES,
        factors=shapes.shape_factors,
    ),
)
register(
    "faces",
    lambda: DataSource(
        "faces",
        faces.FACES_SHAPE,
        None,  # no classes: every factor is continuous
        "gaussian_learned",
        faces.load_faces,
        factor_names=faces.FACTOR_NAMES,
        factors=faces.face_factors,
    ),
)
# The names registered by vae_tf itself (`names()` also lists later ones).
DATASETS = names()


def is_dataset(name):
    """Whether `name` names a dataset: a registered one or an .npz path."""
    return name in _SOURCES or is_npz(name)


def num_classes(name):
    """Number of label classes of the dataset `name` (None for an unlabelled .npz)."""
    return get_source(name).num_classes


def image_shape(name):
    """`(height, width, channels)` of the images of the dataset `name`."""
    return get_source(name).image_shape


def load_dataset(name="mnist"):
    """Loads a dataset by name as float32 images in [0, 1] with int32 labels.

    `"mnist"` is the copy bundled with vae_tf (offline); `"fashion_mnist"`
    (28x28 grey) and `"cifar10"` (32x32 RGB) come through `keras.datasets`,
    which downloads them once and reads them from its cache afterwards;
    `"shapes"` (64x64 binary, dSprites-like, labelled by shape) and
    `"faces"` (64x64 RGB cartoon faces, unlabelled) are generated from a
    seed (`vae_tf.data.shapes`, `vae_tf.data.faces`). A path ending in
    `.npz` loads your own arrays (`load_npz`).

    Returns:
        `((x_train, y_train), (x_test, y_test))`, images `(N, H, W, C)`.

    Raises:
        ValueError: for an unknown name.
        OSError: when Keras can neither read its cached copy nor download
            one (offline), saying where the files go.
    """
    return get_source(name).load()
