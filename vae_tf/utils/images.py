"""Images as arrays: tiled into one, and as PNG files and data URLs (TensorFlow's encoder).

The one helper of the figures (`vae_tf.plotting`), the TensorBoard callbacks
(images per epoch, the projector's sprite) and the explorer's page; it needs
no matplotlib.

- `tile_images`: `(N, H, W, C)` images as one `(rows*H, cols*W, C)` image,
  row by row.
- `to_uint8`, `png_bytes`, `data_url`: an image of floats in [0, 1] as
  bytes, as a PNG file, as `data:image/png;base64,...` for an `<img src>`.

Example:

```python
grid = tile_images(images[:16], 4, 4)     # exactly 16 images
strip = tile_images(images[:10], cols=8)  # 2 rows, the last padded with black
data_url(np.zeros((28, 28, 1), "float32"))   # "data:image/png;base64,iVBOR..."
```
"""

import base64
import math

import numpy as np
import tensorflow as tf


def tile_images(images, rows=None, cols=None):
    """Arranges images `(N, H, W, C)` into one `(rows*H, cols*W, C)` array, row by row.

    With `rows` and `cols`, there must be `rows * cols` images. With `cols`
    alone, there are as many rows as the images fill, the last one padded
    with black.
    """
    images = np.asarray(images)
    if rows is None:
        if cols is None:
            raise ValueError("tile_images needs cols (and rows, or none to fit the images).")
        rows = math.ceil(len(images) / cols)
        padding = np.zeros((rows * cols - len(images), *images.shape[1:]), images.dtype)
        images = np.concatenate([images, padding])
    n, height, width, channels = images.shape
    if n != rows * cols:
        raise ValueError(f"Need {rows * cols} images for a {rows}x{cols} grid; got {n}.")
    grid = images.reshape(rows, cols, height, width, channels)
    return grid.transpose(0, 2, 1, 3, 4).reshape(rows * height, cols * width, channels)


def to_uint8(image):
    """An image of floats in [0, 1] as uint8 (rounded, clipped); uint8 stays as it is."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    return np.round(np.clip(image.astype("float32"), 0.0, 1.0) * 255.0).astype(np.uint8)


def png_bytes(image):
    """The PNG file of one image `(H, W)` or `(H, W, C)`, C in 1..4, floats in [0, 1] or uint8."""
    pixels = to_uint8(image)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or not 1 <= pixels.shape[-1] <= 4:
        raise ValueError(
            f"An image must have shape (H, W) or (H, W, C) with 1 to 4 channels; got "
            f"{np.shape(image)}."
        )
    return tf.io.encode_png(pixels).numpy()


def data_url(image):
    """`data:image/png;base64,...` of one image, for an `<img src>`."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")
