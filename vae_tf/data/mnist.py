"""MNIST, bundled with the package (`vae_tf/_data/mnist.npz`, the Keras-format uint8 arrays).

Read with `np.load` from the package, never through `keras.datasets.mnist`:
the bundled file holds the same arrays as Keras' but not the same bytes, and
a hash mismatch makes Keras try to download and then delete the local copy.

Example:

```python
(x_train, y_train), (x_test, y_test) = load_mnist()   # float32 in [0, 1]
```
"""

import os
import zipfile

import numpy as np

from vae_tf.data.arrays import to_float_images

MNIST_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "_data", "mnist.npz")
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
            f"{path} is not a Keras-format MNIST file: it lacks {missing} (it has {found})."
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
        (to_float_images(arrays["x_train"]), arrays["y_train"].astype("int32")),
        (to_float_images(arrays["x_test"]), arrays["y_test"].astype("int32")),
    )
