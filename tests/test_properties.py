"""Property-based tests: random shapes, dtypes and values at the public entry points.

Each call either succeeds with finite results or raises a ValueError that
says what is wrong; never another exception, a crash or a NaN.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import vae_tf
from vae_tf import data

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DTYPES = st.sampled_from(["float32", "float64", "float16", "uint8", "int32", "bool"])
VALUES = st.floats(allow_nan=True, allow_infinity=True, width=32) | st.sampled_from(
    [0.0, 0.5, 1.0, 255.0, -1.0]
)


def _cast(value, dtype):
    with np.errstate(invalid="ignore", over="ignore"):
        return np.asarray(value).astype(dtype, casting="unsafe").item()


def arrays(max_rank=5, max_side=6):
    shapes = hnp.array_shapes(min_dims=0, max_dims=max_rank, min_side=0, max_side=max_side)
    return DTYPES.flatmap(
        lambda dtype: hnp.arrays(
            dtype,
            shapes,
            elements=VALUES.map(lambda value: _cast(value, dtype)),
        )
    )


def _succeeds_or_explains(call):
    try:
        result = call()
    except ValueError as error:
        assert str(error), "a ValueError must say what is wrong"
        return None
    for value in result if isinstance(result, tuple) else (result,):
        if value is not None:
            assert np.all(np.isfinite(np.asarray(value, "float64")))
    return result


@SETTINGS
@given(images=arrays())
def test_check_images(images):
    with np.errstate(invalid="ignore", over="ignore"):
        checked = _succeeds_or_explains(lambda: data.check_images(images))
    if checked is not None:
        assert checked.ndim == 4 and checked.min() >= 0 and checked.max() <= 1


@SETTINGS
@given(labels=arrays(max_rank=2), num_classes=st.integers(1, 12))
def test_check_labels(labels, num_classes):
    with np.errstate(invalid="ignore"):
        checked = _succeeds_or_explains(lambda: data.check_labels(labels, num_classes))
    if checked is not None:
        assert checked.ndim == 1 and (checked.size == 0 or checked.max() < num_classes)


@SETTINGS
@given(images=arrays(max_side=4), batch_size=st.integers(-2, 5))
def test_make_dataset(images, batch_size):
    def first_batch():
        dataset = data.make_dataset(images, batch_size=batch_size, shuffle=True, seed=0)
        return next(iter(dataset)).numpy()

    with np.errstate(invalid="ignore", over="ignore"):
        _succeeds_or_explains(first_batch)


@pytest.fixture(scope="module")
def mlp_vae():
    encoder, decoder = vae_tf.build_encoder_decoder("mlp", latent_dim=2, image_shape=(4, 4, 1))
    return vae_tf.VAE(encoder, decoder, seed=0)


@SETTINGS
@given(images=arrays(max_side=5))
def test_vae_encode_and_reconstruct(mlp_vae, images):
    with np.errstate(invalid="ignore", over="ignore"):
        _succeeds_or_explains(lambda: mlp_vae.encode(images))
        _succeeds_or_explains(lambda: mlp_vae.reconstruct(images))


@SETTINGS
@given(z=arrays(max_rank=3, max_side=4), num_samples=st.integers(-2, 4))
def test_vae_decode_and_sample(mlp_vae, z, num_samples):
    with np.errstate(invalid="ignore", over="ignore"):
        _succeeds_or_explains(lambda: mlp_vae.decode(z))
    _succeeds_or_explains(lambda: mlp_vae.sample(num_samples, seed=1))
