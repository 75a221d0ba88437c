"""The generated faces dataset: seeded, drawn from its factors, each factor in its own pixels."""

import colorsys
import os

import numpy as np
import pytest

import vae_tf
from vae_tf import plotting
from vae_tf.data import faces

SMILE, EYES, TURN, WIDTH, SKIN, HAIR, HUE, LIGHT = range(8)
# Mouth half-open smile, eyes open, head nearly frontal, mid width, mid skin,
# brown hair, a green background, the light nearly frontal.
BASE = (5, 9, 4, 5, 5, 1, 3, 4)


def traverse(factor, base=BASE):
    """The 10 faces of `base` with `factor` at each of its values."""
    factors = np.repeat(np.array([base]), faces.FACTOR_SIZES[factor], axis=0)
    factors[:, factor] = np.arange(faces.FACTOR_SIZES[factor])
    return faces.render_faces(factors)


@pytest.fixture
def small_splits(monkeypatch):
    """`load_faces` with 300 training and 100 test images (the real ones take seconds)."""
    faces._split.cache_clear()
    monkeypatch.setattr(faces, "TRAIN_COUNT", 300)
    monkeypatch.setattr(faces, "TEST_COUNT", 100)
    yield
    faces._split.cache_clear()


def test_faces_are_seeded_and_drawn_from_their_factors():
    images, factors = faces.make_faces(300, seed=3)
    assert images.shape == (300, 64, 64, 3) and images.dtype == np.float32
    assert factors.shape == (300, 8) and factors.dtype == np.int32
    assert 0 <= images.min() and images.max() <= 1 and images.std() > 0.1
    again, same = faces.make_faces(300, seed=3)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(factors, same)
    assert not np.array_equal(factors, faces.make_faces(300, seed=4)[1])
    # Each factor uniform over its values: numpy's draws, a column at a time.
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(factors.T, [rng.integers(0, 10, 300) for _ in range(8)])
    # Every image is its factors' alone: drawn in any order or number (300
    # spans two blocks of drawing), it is the same.
    order = np.random.default_rng(0).permutation(300)
    np.testing.assert_array_equal(faces.render_faces(factors[order]), images[order])
    np.testing.assert_array_equal(faces.render_faces(factors[299:]), images[299:])
    assert faces.render_faces(np.zeros((0, 8), int)).shape == (0, 64, 64, 3)


def test_factor_values_are_evenly_spaced_grids():
    grid = np.repeat(np.arange(10)[:, np.newaxis], 8, axis=1)
    values = dict(zip(faces.FACTOR_NAMES, faces.factor_values(grid)))
    expected = {
        "smile": (-1, 1),
        "eye_openness": (0, 1),
        "head_turn": (-1, 1),
        "face_width": (12.5, 18),
        "skin_tone": (0, 1),
        "hair_colour": (0, 1),
        "background_hue": (0, 0.9),  # circular: 1 would be 0 again
        "lighting": (-70, 70),
    }
    assert list(values) == list(expected)
    for name, (first, last) in expected.items():
        np.testing.assert_allclose(values[name], np.linspace(first, last, 10), err_msg=name)


def test_each_factor_changes_its_own_pixels_only():
    # From 40 random faces, each factor changed to another value alone.
    rng = np.random.default_rng(1)
    bases = faces.sample_factors(40, seed=2)
    before = faces.render_faces(bases)
    face_box = (slice(24, 44), slice(25, 39))  # inside every face, whatever its width and turn
    for factor, name in enumerate(faces.FACTOR_NAMES):
        changed = bases.copy()
        changed[:, factor] = (bases[:, factor] + rng.integers(1, 10, 40)) % 10
        moved = np.abs(faces.render_faces(changed) - before).max(axis=-1) > 0  # (40, 64, 64)
        assert moved.any(axis=(1, 2)).all(), f"{name} left a face unchanged"
        rows = np.flatnonzero(moved.any(axis=(0, 2)))
        corners = moved[:, :6, :6] | moved[:, :6, -6:]  # background in every face
        inside = moved[:, face_box[0], face_box[1]]
        if name == "smile":
            assert 35 <= rows.min() and rows.max() <= 45, (name, rows)
        elif name == "eye_openness":
            assert 24 <= rows.min() and rows.max() <= 30, (name, rows)
        elif name == "background_hue":
            assert corners.all() and not inside.any(), name
        else:
            assert not corners.any(), name  # the head's factors leave the background be
        if name in ("skin_tone", "lighting", "head_turn"):
            assert inside.any(axis=(1, 2)).all(), name
        if name == "hair_colour":
            assert moved[:, 14, 32].all() and not moved[:, 32:44, 25:39].any(), name


def test_each_factor_does_what_its_name_says():
    # Background hue: the corner's hue is the factor's value, k / 10 of a turn.
    corner_hues = [colorsys.rgb_to_hsv(*image[0, 0])[0] for image in traverse(HUE)]
    np.testing.assert_allclose(corner_hues, np.arange(10) / 10, atol=1e-4)
    # Face width: the face's width at the mouth's row, 9.5 pixels under the
    # ellipse's centre (of half-height 19), is 2 sqrt(1 - 0.5^2) half-widths.
    images = traverse(WIDTH)
    row = images[:, 40]
    face_pixels = (np.abs(row - row[:, :1]).max(axis=-1) > 0.02).sum(axis=1)
    half_widths = np.linspace(12.5, 18, 10) * (1 - 0.08 * 1 / 9)  # turned by 1/9
    assert (np.diff(face_pixels) >= 0).all(), face_pixels
    np.testing.assert_allclose(face_pixels, 2 * np.sqrt(0.75) * half_widths, atol=2)
    # Head turn: the irises (the darkest pixels of the eyes' rows, with grey
    # hair) move right, 4.5 pixels each way plus 0.8 within the eye.
    images = traverse(TURN, base=(5, 9, 4, 5, 9, 9, 3, 4))
    irises = [np.nonzero(image[24:32].max(axis=-1) < 0.25)[1].mean() for image in images]
    assert (np.diff(irises) > 0).all(), irises
    assert irises[-1] - irises[0] == pytest.approx(2 * (4.5 + 0.8), abs=1.5)
    # Eye openness: shut eyes show no white; open ones more the wider they open
    # (on dark skin and black hair, white is what is bright in the eyes' rows).
    images = traverse(EYES, base=(5, 0, 4, 5, 9, 0, 3, 4))
    white = (images[:, 24:31, 20:44].min(axis=-1) > 0.5).sum(axis=(1, 2))
    assert white[0] == 0 and white[-1] >= 4 and (np.diff(white) >= 0).all(), white
    # Smile: the mouth's corners (5 pixels from its middle) rise above its
    # middle; a frown drops them below.
    images = traverse(SMILE)
    middle = 32 + 1.1 * 4.5 * (-1 + 2 * 4 / 9)  # turned by -1/9
    lips = images[..., 0] - images[..., 1]  # red
    columns = np.round(middle + np.array([-5, 0, 5])).astype(int)
    rows = 30 + lips[:, 30:50, columns].argmax(axis=1)  # (10 smiles, 3 columns)
    assert (rows[0, [0, 2]] > rows[0, 1]).all() and (rows[-1, [0, 2]] < rows[-1, 1]).all(), rows
    # Skin tone: light to dark; hair colour: black to grey (both get brighter or darker only).
    cheeks = traverse(SKIN)[:, 36, 24:28].mean(axis=(1, 2))
    assert (np.diff(cheeks) < 0).all() and cheeks[0] > 2 * cheeks[-1], cheeks
    hair = traverse(HAIR)[:, 14, 32].mean(axis=-1)
    assert hair[0] < 0.1 and hair[-1] > 0.8 and np.argmax(hair) >= 8, hair
    # Lighting: from the left (-70 degrees) the left cheek is the brighter, from the right the right.
    images = traverse(LIGHT)
    left_minus_right = images[:, 36, 21:24].mean(axis=(1, 2)) - images[:, 36, 40:43].mean(
        axis=(1, 2)
    )
    assert (np.diff(left_minus_right) < 0).all(), left_minus_right
    assert left_minus_right[0] > 0.1 and left_minus_right[-1] < -0.1


def test_bad_factors_are_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"shape \(N, 8\).*'smile'.*got \(3, 5\)"):
        faces.render_faces(np.zeros((3, 5), int))
    with pytest.raises(ValueError, match=r"shape \(N, 8\)"):
        faces.render_faces(np.zeros(8, int))
    with pytest.raises(ValueError, match="integer indices.*float64"):
        faces.render_faces(np.full((2, 8), 1.5))
    too_big = np.zeros((2, 8), int)
    too_big[1, LIGHT] = 10
    with pytest.raises(ValueError, match=r"in \[0, size\).*got lighting from 0 to 10\.$"):
        faces.render_faces(too_big)
    negative = np.zeros((2, 8), int)
    negative[0, SMILE] = -1
    with pytest.raises(ValueError, match=r"got smile from -1 to 0\.$"):
        faces.render_faces(negative)
    with pytest.raises(ValueError, match="split must be 'train' or 'test'; got 'validation'"):
        faces.face_factors("validation")


def test_the_registered_source_loads_the_seeded_splits_and_their_factors(small_splits):
    source = vae_tf.data.get_source("faces")
    assert source.image_shape == (64, 64, 3) and source.num_classes is None
    assert source.likelihood == "gaussian_learned"
    assert source.factor_names == faces.FACTOR_NAMES
    (x_train, y_train), (x_test, y_test) = source.load()
    assert y_train is None and y_test is None
    assert x_train.shape == (300, 64, 64, 3) and x_test.shape == (100, 64, 64, 3)
    assert not x_train.flags.writeable and source.load()[0][0] is x_train  # shared, read-only
    for split, images, index in (("train", x_train, 0), ("test", x_test, 1)):
        factors = source.factors(split)
        assert factors.shape == (len(images), 8)
        np.testing.assert_array_equal(factors, faces.sample_factors(len(images), seed=[0, index]))
        np.testing.assert_array_equal(images, faces.render_faces(factors))
    assert not np.array_equal(faces.face_factors("test", seed=1), source.factors("test"))
    assert vae_tf.data.load_faces is faces.load_faces and vae_tf.data.face_factors("test") is (
        source.factors("test")
    )


def test_a_faces_model_draws_its_factor_traversal(tmp_path, small_splits):
    source = vae_tf.data.get_source("faces")
    (_, _), (x_test, _) = source.load()
    encoder, decoder = vae_tf.build_encoder_decoder("mlp", 4, image_shape=source.image_shape)
    model = vae_tf.VAE(encoder, decoder, likelihood=source.likelihood, seed=0)
    figure = plotting.factor_traversal_figure(
        model, x_test, source.factors("test"), source.factor_names, steps=3
    )
    assert len(figure.axes) == 8
    assert figure.axes[0].get_images()[0].get_array().shape == (64, 3 * 64, 3)
    written = plotting.write_figures(
        model,
        tmp_path,
        x_test,
        figures=["factor_traversal"],
        factors=source.factors("test"),
        factor_names=source.factor_names,
    )
    assert [os.path.basename(path) for path in written] == ["factor_traversal.png"]
    assert os.path.getsize(written[0]) > 1000
