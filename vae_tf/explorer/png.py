"""PNG images from numpy arrays, for the explorer's page (TensorFlow's encoder, as the callbacks use).

Example:

```python
data_url(np.zeros((28, 28, 1), "float32"))   # "data:image/png;base64,iVBOR..."
```
"""

import base64

import numpy as np
import tensorflow as tf


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
