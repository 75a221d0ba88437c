"""Shapes: a dSprites-like dataset with known factors, generated from a seed (no download).

64x64 binary images of one white shape on black, drawn from five independent
factors with the value counts of dSprites (Matthey et al., 2017): shape
(square, ellipse, heart: 3), scale (6 values from 0.5 to 1), orientation
(40 angles over [0, 2 pi)), x and y position (32 values each). Each image's
factors are drawn uniformly and independently, so the factors are what a
disentangled code should recover (`vae_tf.metrics.disentanglement`). As in
dSprites, the square's and the ellipse's symmetries make some orientations
look alike.

`load_shapes()` gives 30,000 training and 5,000 test images (seeds
(seed, 0) and (seed, 1)), with the shape as the label; `shape_factors(split)`
the factor indices of every image. `python scripts/train.py --dataset=shapes`
trains on them.

Example:

```python
(x_train, y_train), (x_test, y_test) = load_shapes()    # (30000, 64, 64, 1), labels = shape
factors = shape_factors("test")                          # (5000, 5) indices
images, factors = make_shapes(16, seed=3)                # any number, from any seed
```
"""

import functools

import numpy as np

from vae_tf.data.generated import check_split
from vae_tf.data.generated import draw_split

FACTOR_NAMES = ("shape", "scale", "orientation", "x", "y")
FACTOR_SIZES = (3, 6, 40, 32, 32)
SHAPE_NAMES = ("square", "ellipse", "heart")
IMAGE_SIZE = 64
SHAPES_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
TRAIN_COUNT = 30000
TEST_COUNT = 5000
# The largest shape reaches about this far from its centre (pixels) at scale 1.
_RADIUS = 10.0
# Every sprite is drawn once into a square patch of this half-width, then
# pasted at its centre: a whole number of pixels (the 32 positions over the
# free 37 pixels are all distinct).
_HALF = 13


def sample_factors(count, seed=0):
    """`(count, 5)` int32 factor indices, each uniform over its `FACTOR_SIZES` values."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, size, count) for size in FACTOR_SIZES], axis=1).astype("int32")


def factor_values(factors):
    """The values of factor indices: shape index, scale, angle (radians), x and y in [0, 1]."""
    factors = np.asarray(factors)
    return (
        factors[:, 0],
        0.5 + 0.1 * factors[:, 1],
        2 * np.pi * factors[:, 2] / FACTOR_SIZES[2],
        factors[:, 3] / (FACTOR_SIZES[3] - 1),
        factors[:, 4] / (FACTOR_SIZES[4] - 1),
    )


def _inside(shape, u, v):
    """Whether the points `(u, v)` of a shape's own frame (units of its size) are in it."""
    if shape == 0:
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if shape == 1:
        return u**2 + (v / 0.5) ** 2 <= 1.0
    hu, hv = 1.15 * u, -1.15 * v + 0.15  # the heart's point down its -v axis
    return (hu**2 + hv**2 - 1) ** 3 - hu**2 * hv**3 <= 0


@functools.lru_cache(maxsize=1)
def _sprites():
    """`(3, 6, 40, 2 _HALF + 1, 2 _HALF + 1)` float32 patches of 0s and 1s, the shape centred.

    Float32 like the images: copying bools into float32 slices is many times slower.
    """
    offsets = np.arange(-_HALF, _HALF + 1, dtype="float64")
    dy, dx = np.meshgrid(offsets, offsets, indexing="ij")
    patches = np.empty((*FACTOR_SIZES[:3], len(offsets), len(offsets)), "float32")
    for shape in range(FACTOR_SIZES[0]):
        for scale_index in range(FACTOR_SIZES[1]):
            size = _RADIUS * (0.5 + 0.1 * scale_index)
            for turn in range(FACTOR_SIZES[2]):
                angle = 2 * np.pi * turn / FACTOR_SIZES[2]
                u = (np.cos(angle) * dx + np.sin(angle) * dy) / size
                v = (-np.sin(angle) * dx + np.cos(angle) * dy) / size
                patches[shape, scale_index, turn] = _inside(shape, u, v)
    patches.flags.writeable = False
    return patches


def render_shapes(factors):
    """Draws the images of factor indices `(N, 5)`: float32 `(N, 64, 64, 1)` of 0s and 1s."""
    factors = np.asarray(factors)
    if factors.ndim != 2 or factors.shape[1] != len(FACTOR_SIZES):
        raise ValueError(f"factors must have shape (N, {len(FACTOR_SIZES)}); got {factors.shape}.")
    if (factors < 0).any() or (factors >= np.array(FACTOR_SIZES)).any():
        raise ValueError(f"factor indices must be in [0, size) for sizes {FACTOR_SIZES}.")
    _, _, _, x, y = factor_values(factors)
    free = IMAGE_SIZE - 2 * _HALF - 1
    columns = np.rint(_HALF + x * free).astype(int) - _HALF
    rows = np.rint(_HALF + y * free).astype(int) - _HALF
    # One slice assignment per position (at most 32 x 32), not one per image.
    order = np.lexsort((columns, rows))
    patches = _sprites()[factors[order, 0], factors[order, 1], factors[order, 2]]
    rows, columns = rows[order], columns[order]
    # (N, 64, 64): slices of a trailing channel axis are many times slower.
    images = np.zeros((len(factors), IMAGE_SIZE, IMAGE_SIZE), "float32")
    width = 2 * _HALF + 1
    starts = np.flatnonzero(np.r_[True, (np.diff(rows) != 0) | (np.diff(columns) != 0)])
    for start, stop in zip(starts, np.r_[starts[1:], len(factors)]):
        row, column = rows[start], columns[start]
        images[order[start:stop], row : row + width, column : column + width] = patches[start:stop]
    return images[..., np.newaxis]


def make_shapes(count, seed=0):
    """`(images (count, 64, 64, 1), factor indices (count, 5))` drawn from `seed`."""
    factors = sample_factors(count, seed)
    return render_shapes(factors), factors


@functools.lru_cache(maxsize=2)
def _split(split, seed):
    return draw_split(make_shapes, split, seed, TRAIN_COUNT, TEST_COUNT)


def load_shapes(seed=0):
    """`((x_train, y_train), (x_test, y_test))`: the shapes images, labelled by their shape.

    Generated once per process (a few seconds: most of it is the first
    writes into the 570 MB of float32 images) and shared, read-only.
    """
    (x_train, f_train), (x_test, f_test) = _split("train", seed), _split("test", seed)
    return (x_train, f_train[:, 0]), (x_test, f_test[:, 0])


def shape_factors(split="test", seed=0):
    """The `(N, 5)` factor indices of `load_shapes`' images of `split`."""
    check_split(split)
    return _split(split, seed)[1]
