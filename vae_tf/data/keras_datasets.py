"""Datasets that `keras.datasets` downloads once and caches: Fashion-MNIST and CIFAR-10.

Example:

```python
(x_train, y_train), (x_test, y_test) = load_keras_dataset("fashion_mnist")
```
"""

import os

import numpy as np

from vae_tf.data.arrays import to_float_images

# name -> the files Keras caches under $KERAS_HOME/datasets (default ~/.keras/datasets)
CACHED_FILES = {
    "fashion_mnist": "fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz",
    "cifar10": "cifar-10-batches-py-target.tar.gz (then extracted)",
}


def load_keras_dataset(name):
    """Loads `keras.datasets.<name>` as float32 images in [0, 1] with flat int32 labels.

    Raises:
        OSError: when Keras can neither read its cached copy nor download
            one (offline), saying where the files go.
    """
    import keras

    files = CACHED_FILES[name]
    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
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
        (to_float_images(x_train), np.asarray(y_train).reshape(-1).astype("int32")),
        (to_float_images(x_test), np.asarray(y_test).reshape(-1).astype("int32")),
    )
