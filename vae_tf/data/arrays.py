"""Arrays of images and labels: the checks every entry point applies, and binarization.

Example:

```python
images = check_images(x, image_shape=(28, 28, 1))   # float32, or a ValueError with the fix
binary = binarize_images(images, "dynamic", seed=0)
```
"""

import numpy as np


def to_float_images(x):
    """uint8 (or 0-255) arrays `(N, H, W)` or `(N, H, W, C)` as float32 images in [0, 1]."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., np.newaxis]
    return x.astype("float32") / 255.0


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
        raise ValueError(f"{name} must have shape {expected}; got {images.shape}.{hint}")
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
            f"{name} must hold one label per image: {num_images} images but {len(labels)} labels."
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
