"""Faces: 64x64 RGB cartoon faces with known factors, generated from a seed (no download).

Each face is drawn from eight independent continuous factors, each on a grid
of ten evenly spaced values. Four shape it: smile (mouth curvature, frown to
smile), eye openness (shut to wide), head turn (yaw: the eyes, nose and
mouth shift sideways, the far eye narrows, the hair shows behind) and face
width. Four colour it: skin tone, hair colour, background hue and lighting
(the azimuth of the light that shades the head). A factor changes its own
pixels only: the background hue the background, the smile the mouth, the
eye openness the eyes, the lighting the head.

It serves what `shapes` cannot: a CelebA-like 64x64 RGB dataset (for the
`conv64` preset, and the expression morph between two faces) whose factors
are known, so that the disentanglement metrics and the `factor_traversal`
figure apply. `load_faces()` gives 30,000 training and 5,000 test images
(seeds (seed, 0) and (seed, 1)), unlabelled; `face_factors(split)` the
factor indices of every image. `python scripts/train.py --dataset=faces
--architecture=conv64` trains on them.

Example:

```python
(x_train, _), (x_test, _) = load_faces()     # (30000, 64, 64, 3) in [0, 1], no labels
factors = face_factors("test")                # (5000, 8) indices
images, factors = make_faces(16, seed=3)      # any number, from any seed
factors[:, FACTOR_NAMES.index("smile")] = 9   # the same faces, smiling
smiling = render_faces(factors)
```
"""

import colorsys
import functools

import numpy as np

from vae_tf.data.generated import check_split
from vae_tf.data.generated import draw_split

FACTOR_NAMES = (
    "smile",
    "eye_openness",
    "head_turn",
    "face_width",
    "skin_tone",
    "hair_colour",
    "background_hue",
    "lighting",
)
# Ten values a factor: a step still changes a 64x64 face visibly (the
# smallest, a face 0.6 pixels wider, moves its anti-aliased edge); at most
# the 20 bins of MIG's histograms (a factor of more values cannot reach a
# gap of 1); and 5,000 test images hold 500 of each value for the scores
# that gather images sharing one (FactorVAE, beta-VAE).
FACTOR_SIZES = (10,) * len(FACTOR_NAMES)
IMAGE_SIZE = 64
FACES_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 3)
TRAIN_COUNT = 30000
TEST_COUNT = 5000

# The physical values of the first and last index of each factor (the hue,
# circular, is k / 10 of a turn instead: 1 would be 0 again).
SMILE = (-1.0, 1.0)  # the mouth's corners 3 pixels below (frown) to above (smile) its middle
EYE_OPENNESS = (0.0, 1.0)  # shut (the lash line alone) to wide open
HEAD_TURN = (-1.0, 1.0)  # yaw: the features 4.5 pixels to the left .. to the right
FACE_WIDTH = (12.5, 18.0)  # half-width of the face, pixels
SKIN_TONE = (0.0, 1.0)  # light to dark, along _SKIN
HAIR_COLOUR = (0.0, 1.0)  # black, brown, auburn, ginger, blond to grey, along _HAIR
LIGHTING = (-70.0, 70.0)  # azimuth of the light, degrees (negative: from the left)
_RANGES = (SMILE, EYE_OPENNESS, HEAD_TURN, FACE_WIDTH, SKIN_TONE, HAIR_COLOUR, None, LIGHTING)

# The layout: pixels from the top-left corner, pixel centres at k + 0.5.
_CENTRE_X, _CENTRE_Y = 32.0, 31.0  # of the face's ellipse
_FACE_HALF_HEIGHT = 19.0
_FEATURE_SHIFT = 4.5  # how far the eyes move at a full turn
_EYE_Y, _EYE_SPACING, _EYE_HALF_WIDTH, _EYE_HALF_HEIGHT = 28.0, 6.8, 3.4, 2.4
_MOUTH_Y, _MOUTH_HALF_WIDTH, _MOUTH_CURVE = 40.5, 6.5, 3.0

# Skin and hair: piecewise-linear paths through these colours, the factor's
# value (0 to 1) the position along the path.
_SKIN = np.array([[0.98, 0.85, 0.74], [0.88, 0.68, 0.53], [0.68, 0.47, 0.33], [0.38, 0.24, 0.16]])
_HAIR = np.array(
    [
        [0.07, 0.05, 0.05],
        [0.30, 0.18, 0.10],
        [0.58, 0.25, 0.12],
        [0.82, 0.52, 0.22],
        [0.93, 0.82, 0.52],
        [0.88, 0.88, 0.86],
    ]
)
_SHIRT = np.array([0.30, 0.36, 0.50])
_SCLERA = np.array([0.96, 0.96, 0.94])
_IRIS = np.array([0.22, 0.14, 0.09])
_LID = np.array([0.12, 0.07, 0.06])
_LIPS = np.array([0.62, 0.16, 0.18])


def sample_factors(count, seed=0):
    """`(count, 8)` int32 factor indices, each uniform over its `FACTOR_SIZES` values."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, size, count) for size in FACTOR_SIZES], axis=1).astype("int32")


def factor_values(factors):
    """The values of factor indices `(N, 8)`: a tuple of 8 float64 `(N,)`, in `FACTOR_NAMES`' order.

    smile in [-1, 1] (frown to smile), eye openness in [0, 1] (shut to
    open), head turn in [-1, 1] (left to right), face half-width in pixels
    (12.5 to 18), skin tone and hair colour in [0, 1] (light to dark skin;
    black, brown, auburn, ginger, blond to grey hair), background hue in
    [0, 1) (of the colour circle) and the light's azimuth in degrees (-70,
    from the left, to 70).
    """
    factors = np.asarray(factors)
    values = []
    for k, (size, value_range) in enumerate(zip(FACTOR_SIZES, _RANGES)):
        if value_range is None:  # the hue
            values.append(factors[:, k] / size)
        else:
            low, high = value_range
            values.append(low + (high - low) * factors[:, k] / (size - 1))
    return tuple(values)


def _grid_values(k):
    """The `FACTOR_SIZES[k]` values of factor `k`, in index order."""
    factors = np.zeros((FACTOR_SIZES[k], len(FACTOR_SIZES)), "int64")
    factors[:, k] = np.arange(FACTOR_SIZES[k])
    return factor_values(factors)[k]


# Drawing. A part is a signed distance d (pixels, negative inside) turned
# into coverage by a one-pixel ramp: edges are anti-aliased, and move
# smoothly with the factors.

_PIXELS = IMAGE_SIZE * IMAGE_SIZE


def _coverage(distance):
    """The share of a pixel inside a part, from its signed distance: a one-pixel ramp."""
    return np.clip(0.5 - distance, 0.0, 1.0)


def _pixel_grid():
    """`(x, y)` of the pixel centres, `(64, 64)` each."""
    centres = np.arange(IMAGE_SIZE, dtype="float64") + 0.5
    y, x = np.meshgrid(centres, centres, indexing="ij")
    return x, y


def _ellipse(x, y, cx, cy, ax, ay):
    """Approximate signed distance to an ellipse: its implicit function over its gradient."""
    u, v = (x - cx) / ax, (y - cy) / ay
    gradient = 2 * np.sqrt((u / ax) ** 2 + (v / ay) ** 2)
    return (u**2 + v**2 - 1) / np.maximum(gradient, 1e-6)


def _parabola_stroke(x, y, cx, cy, half_width, bend, thickness):
    """Distance to a stroke `y = cy - bend (dx / half_width)^2` over `|dx| <= half_width`.

    The distance to the nearest point is approximated at the clipped `dx`:
    the vertical gap over the slope's length, with round ends.
    """
    dx = np.clip(x - cx, -half_width, half_width)
    curve = cy - bend * (dx / half_width) ** 2
    slope = -2 * bend * dx / half_width**2
    gap = (y - curve) / np.sqrt(1 + slope**2)
    return np.hypot(x - cx - dx, gap) - thickness / 2


def _composite(start, parts):
    """Paints `parts` `[(coverage (64, 64), paint (4,))]` back to front over `start` (4,).

    Every pixel holds four numbers that the coverage of a part blends
    towards its paint: `acc <- (1 - coverage) acc + coverage paint`.
    Returns `(4, 64 * 64)`.
    """
    acc = np.broadcast_to(np.reshape(start, (4, 1, 1)), (4, IMAGE_SIZE, IMAGE_SIZE))
    for coverage, paint in parts:
        acc = acc + coverage * (np.reshape(paint, (4, 1, 1)) - acc)
    return acc.reshape(4, _PIXELS)


def _table(draw, *factors):
    """`draw(value, ...)` at every grid value of `factors` (positions in FACTOR_NAMES).

    Returns float32 `(size_1, ..., size_k, *draw's shape)`, read-only.
    """
    grids = [_grid_values(k) for k in factors]
    drawn = [draw(*(g[i] for g, i in zip(grids, index))) for index in np.ndindex(*map(len, grids))]
    table = np.array(drawn, "float32").reshape(*map(len, grids), *drawn[0].shape)
    table.flags.writeable = False
    return table


# The colours a head's four weights mix, in this order; given per image.
_BACKGROUND, _HAIR_COLOUR, _SKIN_COLOUR, _SHIRT_COLOUR = np.eye(4)


def _face(x, y, width, turn):
    """Signed distance to the face: an ellipse, narrower when turned."""
    centre = _CENTRE_X + 0.25 * _FEATURE_SHIFT * turn
    return _ellipse(x, y, centre, _CENTRE_Y, width * (1 - 0.08 * abs(turn)), _FACE_HALF_HEIGHT)


def _inside_face(x, y, width, turn):
    """Coverage of the face shrunk by a pixel: where the face hides all behind it."""
    return _coverage(_face(x, y, width, turn) + 1.0)


@functools.lru_cache(maxsize=1)
def _heads():
    """Per (face width, head turn): `(10, 10, 4, 64 * 64)` weights of four colours.

    How much of the background, hair, skin and shirt colours each pixel
    takes. The brows are hair at 0.45, the nose's shadow skin at 0.75 (and
    so on), so the weights need not sum to 1: the rest is black.
    """
    x, y = _pixel_grid()
    return _table(lambda width, turn: _composite(_BACKGROUND, _head(x, y, width, turn)), 3, 2)


def _head(x, y, width, turn):
    """`[(coverage, paint)]` of the head's parts, back to front."""
    cx, cy = _CENTRE_X, _CENTRE_Y
    face_width = width * (1 - 0.08 * abs(turn))
    shift = _FEATURE_SHIFT * turn
    # Turned, the back of the head shows: the hair moves the other way.
    hair = _ellipse(x, y, cx - 0.5 * shift, cy - 3.0, width + 3.5, _FACE_HALF_HEIGHT + 1.0)
    hair = np.maximum(hair, y - (cy + 6.0))  # down to the ears
    ears = np.minimum(
        _ellipse(x, y, cx - face_width - 0.4 * shift, _EYE_Y + 3.0, 2.6, 4.0),
        _ellipse(x, y, cx + face_width - 0.4 * shift, _EYE_Y + 3.0, 2.6, 4.0),
    )
    neck = np.maximum(np.abs(x - cx - 0.3 * shift) - 0.45 * width, cy + 10.0 - y)
    shirt = _ellipse(x, y, cx, IMAGE_SIZE + 6.0, 27.0, 13.0)
    # The hairline: a curve across the forehead, lower at the temples. The
    # fringe is the hair above it, in front of the face: no seam at its edge.
    hairline = cy - 10.5 + 5.0 * ((x - cx - 0.4 * shift) / face_width) ** 2
    fringe = np.maximum(hair, y - hairline)
    brow_half_widths = _EYE_HALF_WIDTH * (1 + 0.25 * turn * np.array([1, -1]))
    brows = np.minimum(
        *(
            _parabola_stroke(x, y, cx + shift + side * _EYE_SPACING, _EYE_Y - 5.0, half, -1.0, 1.5)
            for side, half in zip((-1, 1), brow_half_widths)
        )
    )
    nose = _parabola_stroke(x, y, cx + 1.3 * shift, _EYE_Y + 8.0, 1.6, -0.6, 1.3)
    inside = _inside_face(x, y, width, turn)
    return [
        (_coverage(hair), _HAIR_COLOUR),
        (_coverage(ears), 0.92 * _SKIN_COLOUR),
        (_coverage(neck), 0.85 * _SKIN_COLOUR),
        (_coverage(shirt), _SHIRT_COLOUR),
        (_coverage(_face(x, y, width, turn)), _SKIN_COLOUR),
        (_coverage(fringe), _HAIR_COLOUR),
        (_coverage(brows) * inside, 0.45 * _HAIR_COLOUR),
        (_coverage(nose), 0.75 * _SKIN_COLOUR),
    ]


def _rgba(colour):
    """The paint of a part of a fixed colour: its coverage, then its premultiplied RGB."""
    return np.array([1.0, *colour])


@functools.lru_cache(maxsize=1)
def _features():
    """`(rows, eyes, mouths, insides)`: the eyes and the mouth, and where they may show.

    `eyes` per (eye openness, head turn) and `mouths` per (smile, head
    turn), float32 `(10, 10, 4, pixels)`, are coverage and premultiplied
    RGB; `insides` per (face width, head turn), `(10, 10, pixels)`, the
    inside of the face that clips them (a turned head hides the far eye's
    corner). All hold only the band of rows where an eye or a mouth ever
    shows: the pixels `rows` (a slice) of a flattened image.
    """
    x, y = _pixel_grid()
    eyes = _table(lambda opening, turn: _composite(np.zeros(4), _eyes(x, y, opening, turn)), 1, 2)
    mouths = _table(lambda smile, turn: _composite(np.zeros(4), _mouth(x, y, smile, turn)), 0, 2)
    insides = _table(lambda width, turn: _inside_face(x, y, width, turn).reshape(-1), 3, 2)
    shown = np.flatnonzero(eyes[:, :, 0].max((0, 1)) + mouths[:, :, 0].max((0, 1)))
    # Whole rows: a slice of the flattened image, so its band is a view.
    first, last = shown[0] // IMAGE_SIZE, shown[-1] // IMAGE_SIZE + 1
    rows = slice(first * IMAGE_SIZE, last * IMAGE_SIZE)
    bands = [np.ascontiguousarray(table[..., rows]) for table in (eyes, mouths, insides)]
    for band in bands:
        band.flags.writeable = False
    return (rows, *bands)


def _eyes(x, y, opening, turn):
    """`[(coverage, paint)]` of both eyes."""
    parts = []
    for side in (-1, 1):
        # The eye on the side the head turns to is seen at a slant: narrower.
        half_width = _EYE_HALF_WIDTH * (1 - 0.25 * side * turn)
        cx = _CENTRE_X + _FEATURE_SHIFT * turn + side * _EYE_SPACING * (1 - 0.1 * abs(turn))
        parts += _eye(x, y, cx, half_width, opening, turn)
    return parts


def _eye(x, y, cx, half_width, opening, turn):
    """`[(coverage, paint)]` of one eye: an almond of white, its iris, its upper lid."""
    cy = _EYE_Y
    upper = opening * _EYE_HALF_HEIGHT
    lower = 0.6 * upper
    bulge = 1 - np.clip((x - cx) / half_width, -1, 1) ** 2
    almond = np.maximum.reduce(
        [(cy - upper * bulge) - y, y - (cy + lower * bulge), np.abs(x - cx) - half_width]
    )
    # Under a pixel high the ramp would show a half-covered line: scale by the height.
    white = _coverage(almond) * min(upper + lower, 1.0)
    iris = np.minimum(white, _coverage(np.hypot(x - cx - 0.8 * turn, y - cy) - 1.8))
    # The lid's middle: above the white when open, sagging into a lash line when shut.
    lid_middle = cy - upper + 0.7 * (1 - opening)
    lid = _coverage(_parabola_stroke(x, y, cx, lid_middle, half_width, lid_middle - cy, 1.0))
    return [(white, _rgba(_SCLERA)), (iris, _rgba(_IRIS)), (lid, _rgba(_LID))]


def _mouth(x, y, smile, turn):
    """`[(coverage, paint)]` of the mouth: a curve whose corners a smile raises (-y)."""
    cx = _CENTRE_X + 1.1 * _FEATURE_SHIFT * turn
    half_width = _MOUTH_HALF_WIDTH * (1 - 0.12 * abs(turn))
    thickness = 1.6 + 0.5 * abs(smile)  # a broad smile or frown shows more lip
    lips = _parabola_stroke(x, y, cx, _MOUTH_Y, half_width, _MOUTH_CURVE * smile, thickness)
    return [(_coverage(lips), _rgba(_LIPS))]


@functools.lru_cache(maxsize=1)
def _shading():
    """Per lighting: `(10, 64 * 64)` float32 brightness of the head, lit from that azimuth.

    Lambert's law on a sphere around the head: an ambient floor plus the
    cosine between the sphere's normal and the light, which comes from the
    front and a little above, turned by the azimuth.
    """
    x, y = _pixel_grid()
    radius = 26.0
    nx, ny = (x - _CENTRE_X) / radius, (y - _CENTRE_Y) / radius
    rim = np.maximum(np.hypot(nx, ny), 1.0)  # outside the sphere: the normal of its rim
    nx, ny = nx / rim, ny / rim
    normal = np.stack([nx, ny, np.sqrt(np.maximum(1 - nx**2 - ny**2, 0.0))])

    def shade(azimuth):
        light = np.array([np.sin(np.radians(azimuth)), -0.1, np.cos(np.radians(azimuth))])
        cosine = np.tensordot(light / np.linalg.norm(light), normal, axes=1)
        return (0.45 + 0.65 * np.maximum(cosine, 0.0)).reshape(-1)

    return _table(shade, 7)


@functools.lru_cache(maxsize=1)
def _palettes():
    """`(backgrounds, hair, skin)`: float32 `(10, 3)` colours per factor index."""

    def along(anchors, value):
        position = value * (len(anchors) - 1)
        start = min(int(position), len(anchors) - 2)
        return anchors[start] + (position - start) * (anchors[start + 1] - anchors[start])

    return (
        _table(lambda hue: np.array(colorsys.hsv_to_rgb(hue, 0.35, 0.9)), 6),
        _table(lambda value: along(_HAIR, value), 5),
        _table(lambda value: along(_SKIN, value), 4),
    )


def _check_factors(factors):
    factors = np.asarray(factors)
    if factors.ndim != 2 or factors.shape[1] != len(FACTOR_SIZES):
        raise ValueError(
            f"factors must have shape (N, {len(FACTOR_SIZES)}), a column per factor of "
            f"{FACTOR_NAMES}; got {factors.shape}."
        )
    if not np.issubdtype(factors.dtype, np.integer):
        raise ValueError(
            "factors must be integer indices (factor_values gives the values they stand for); "
            f"got {factors.dtype}."
        )
    bad = [
        f"{name} from {column.min()} to {column.max()}"
        for name, size, column in zip(FACTOR_NAMES, FACTOR_SIZES, factors.T)
        if len(column) and (column.min() < 0 or column.max() >= size)
    ]
    if bad:
        raise ValueError(
            f"factor indices must be in [0, size) for sizes {FACTOR_SIZES}; got {', '.join(bad)}."
        )
    return factors


# Images drawn per block: their float32 temporaries (3 MB) stay in the caches.
_BLOCK = 64


def render_faces(factors):
    """Draws the faces of factor indices `(N, 8)`: float32 `(N, 64, 64, 3)` in [0, 1].

    Raises:
        ValueError: for factors of another shape, not integers, or out of range.
    """
    smile, eyes, turn, width, skin, hair, hue, lighting = _check_factors(factors).T
    backgrounds, hair_colours, skin_colours = _palettes()
    # (N, 3, 4): per channel, the colours of a head's weights, in _heads' order.
    colours = np.stack(
        [
            backgrounds[hue],
            hair_colours[hair],
            skin_colours[skin],
            np.broadcast_to(_SHIRT.astype("float32"), (len(hue), 3)),
        ],
        axis=2,
    )
    heads, shading = _heads(), _shading()
    rows, eye_table, mouth_table, insides = _features()
    images = np.empty((len(hue), _PIXELS, 3), "float32")
    # Drawn channels first: numpy runs through rows of 4,096 pixels many
    # times faster than through pixels of 3 channels (the matmul 10 times).
    drawn = np.empty((_BLOCK, 3, _PIXELS), "float32")
    for start in range(0, len(hue), _BLOCK):
        block = slice(start, start + _BLOCK)
        weights = heads[width[block], turn[block]]  # (n, 4, pixels)
        out = drawn[: len(weights)]
        np.matmul(colours[block, :, 1:], weights[:, 1:], out=out)  # hair, skin, shirt
        features = eye_table[eyes[block], turn[block]]
        features += mouth_table[smile[block], turn[block]]  # apart: they never overlap
        features *= insides[width[block], turn[block], np.newaxis]
        band = out[..., rows]
        band *= 1 - features[:, :1]
        band += features[:, 1:]
        out *= shading[lighting[block], np.newaxis]  # the head is lit, the background not
        out += weights[:, :1] * colours[block, :, :1]
        np.clip(out, 0.0, 1.0, out=out)  # the brightest light overshoots
        np.copyto(images[block], out.transpose(0, 2, 1))
    return images.reshape(len(hue), *FACES_SHAPE)


def make_faces(count, seed=0):
    """`(images (count, 64, 64, 3), factor indices (count, 8))` drawn from `seed`."""
    factors = sample_factors(count, seed)
    return render_faces(factors), factors


@functools.lru_cache(maxsize=2)
def _split(split, seed):
    return draw_split(make_faces, split, seed, TRAIN_COUNT, TEST_COUNT)


def load_faces(seed=0):
    """`((x_train, None), (x_test, None))`: the faces, unlabelled (they have no classes).

    Generated once per process (about 6 s of one core; `shapes` takes 1.4)
    and shared, read-only: 1.7 GB of float32.
    """
    return (_split("train", seed)[0], None), (_split("test", seed)[0], None)


def face_factors(split="test", seed=0):
    """The `(N, 8)` factor indices of `load_faces`' images of `split`."""
    check_split(split)
    return _split(split, seed)[1]
