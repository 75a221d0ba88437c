"""Your own arrays: an .npz of `x_train`, `x_test` and optional labels, checked with fixes.

Example:

>>> np.savez("digits.npz", x_train=x_train, x_test=x_test)  # then --dataset=digits.npz
>>> (x_train, _), (x_test, _) = load_npz("digits.npz")
"""

import functools
import os
import zipfile

import numpy as np

from vae_tf.data.arrays import check_images
from vae_tf.data.arrays import check_labels


def is_npz(name):
    """Whether the dataset `name` is the path of an .npz file of arrays."""
    return os.fspath(name).endswith(".npz")


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
        raise FileNotFoundError(f"No such file: {path}. An .npz dataset is {_NPZ_FORMAT}.")
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
        raise ValueError(
            f"{path} lacks {missing} (it has {sorted(arrays)}); it must be {_NPZ_FORMAT}."
        )
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
                num_classes=np.iinfo("int32").max,
                num_images=len(images),
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
