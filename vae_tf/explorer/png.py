"""PNG images from numpy arrays with the standard library (zlib), for the explorer's page.

Example:

```python
data_url(np.zeros((28, 28, 1), "float32"))   # "data:image/png;base64,iVBOR..."
```
"""

import base64
import struct
import zlib

import numpy as np

# PNG colour types by channel count: grey, grey + alpha, RGB, RGBA.
_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}


def _chunk(kind, payload):
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


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
    if pixels.ndim != 3 or pixels.shape[-1] not in _COLOUR_TYPES:
        raise ValueError(
            f"An image must have shape (H, W) or (H, W, C) with 1 to 4 channels; got "
            f"{image.shape}."
        )
    height, width, channels = pixels.shape
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPES[channels], 0, 0, 0)
    # Filter type 0 (none) before every row; images this small need no better.
    rows = np.concatenate(
        [np.zeros((height, 1), np.uint8), pixels.reshape(height, width * channels)], axis=1
    )
    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        _chunk(b"IHDR", header),
        _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)),
        _chunk(b"IEND", b""),
    ])


def data_url(image):
    """`data:image/png;base64,...` of one image, for an `<img src>`."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")
