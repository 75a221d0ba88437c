"""Datasets: sources by name, validated arrays, and `tf.data` pipelines.

- `registry`: `DataSource` (image shape, classes, default likelihood,
  loader) by name: `get_source`, `register`, `folder_source`.
- `mnist` (bundled, offline), `keras_datasets` (Fashion-MNIST, CIFAR-10),
  `shapes` (dSprites-like) and `faces` (64x64 RGB cartoon faces), generated
  from a seed with known factors (`generated`: their seeded, read-only splits),
  `npz` (your own arrays), `image_folder` (images streamed from a folder).
- `arrays`: `check_images`, `check_labels`, `binarize_images`.
- `pipelines`: `make_dataset`, `mnist_datasets` and `passes`, whose every
  pass depends on `(seed, pass)` only, so a resumed run sees what an
  uninterrupted one sees.

Example:

```python
(x_train, y_train), (x_test, y_test) = load_mnist()   # float32 in [0, 1]
train_ds = make_dataset(x_train, batch_size=128, shuffle=True, seed=0)
vae.fit(train_ds, epochs=10)
```
"""

from vae_tf.data.arrays import BINARIZATIONS
from vae_tf.data.arrays import binarize_images
from vae_tf.data.arrays import check_images
from vae_tf.data.arrays import check_labels
from vae_tf.data.arrays import to_float_images
from vae_tf.data.faces import face_factors
from vae_tf.data.faces import load_faces
from vae_tf.data.faces import make_faces
from vae_tf.data.image_folder import ImageFolder
from vae_tf.data.keras_datasets import load_keras_dataset
from vae_tf.data.mnist import MNIST_CLASSES
from vae_tf.data.mnist import MNIST_PATH
from vae_tf.data.mnist import MNIST_SHAPE
from vae_tf.data.mnist import load_mnist
from vae_tf.data.npz import is_npz
from vae_tf.data.npz import load_npz
from vae_tf.data.pipelines import make_dataset
from vae_tf.data.pipelines import mnist_datasets
from vae_tf.data.pipelines import passes
from vae_tf.data.registry import DATASETS
from vae_tf.data.registry import DataSource
from vae_tf.data.registry import factor_dataset_names
from vae_tf.data.registry import folder_source
from vae_tf.data.registry import get_source
from vae_tf.data.registry import image_shape
from vae_tf.data.registry import is_dataset
from vae_tf.data.registry import load_dataset
from vae_tf.data.registry import num_classes
from vae_tf.data.registry import register
from vae_tf.data.shapes import load_shapes
from vae_tf.data.shapes import make_shapes
from vae_tf.data.shapes import shape_factors

__all__ = [
    "BINARIZATIONS",
    "DATASETS",
    "DataSource",
    "factor_dataset_names",
    "ImageFolder",
    "MNIST_CLASSES",
    "MNIST_PATH",
    "MNIST_SHAPE",
    "binarize_images",
    "check_images",
    "check_labels",
    "face_factors",
    "folder_source",
    "get_source",
    "image_shape",
    "is_dataset",
    "is_npz",
    "load_dataset",
    "load_faces",
    "load_keras_dataset",
    "load_mnist",
    "load_npz",
    "load_shapes",
    "make_dataset",
    "make_faces",
    "make_shapes",
    "mnist_datasets",
    "num_classes",
    "passes",
    "register",
    "shape_factors",
    "to_float_images",
]
