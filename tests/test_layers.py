import keras
import numpy as np
import pytest

from vae_tf import Sampler


def test_sampler_has_requested_mean_and_variance():
    n = 100_000
    z_mean = np.tile(np.array([[1.0, -3.0]], "float32"), (n, 1))
    z_log_var = np.tile(np.log(np.array([[0.25, 4.0]], "float32")), (n, 1))
    z = np.asarray(Sampler(seed=0)([z_mean, z_log_var]))
    np.testing.assert_allclose(z.mean(axis=0), [1.0, -3.0], atol=0.03)
    np.testing.assert_allclose(z.var(axis=0), [0.25, 4.0], rtol=0.03)


def test_sampler_seeding_is_reproducible_and_draws_fresh_noise():
    inputs = [np.zeros((8, 3), "float32"), np.zeros((8, 3), "float32")]
    a, b, c = Sampler(seed=7), Sampler(seed=7), Sampler(seed=8)
    first = np.asarray(a(inputs))
    np.testing.assert_array_equal(first, np.asarray(b(inputs)))
    assert not np.allclose(first, np.asarray(c(inputs)))
    assert not np.allclose(first, np.asarray(a(inputs)))  # next call, new noise


def test_sampler_gradients_flow_to_mean_and_log_variance():
    import tensorflow as tf

    z_mean = tf.Variable(np.zeros((4, 2), "float32"))
    z_log_var = tf.Variable(np.zeros((4, 2), "float32"))
    with tf.GradientTape() as tape:
        z = Sampler(seed=1)([z_mean, z_log_var])
        loss = tf.reduce_sum(z**2)
    grad_mean, grad_log_var = tape.gradient(loss, [z_mean, z_log_var])
    assert np.all(np.isfinite(grad_mean)) and np.any(grad_log_var != 0)


def test_sampler_config_round_trip():
    layer = Sampler(seed=11, name="my_sampler")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(clone, Sampler)
    assert clone.get_config() == layer.get_config()
    assert clone.seed == 11 and clone.name == "my_sampler"


def test_sampler_draws_noise_in_input_dtype():
    layer = Sampler(seed=0, dtype="mixed_float16")
    half = keras.ops.zeros((2, 2), "float16")
    assert layer([half, half]).dtype == "float16"


def test_sampler_takes_both_calling_styles_and_k_codes_per_row():
    z_mean = keras.ops.convert_to_tensor([[0.0, 10.0], [-5.0, 1.0]])
    z_log_var = keras.ops.convert_to_tensor([[0.0, -2.0], [1.0, 0.0]])
    # The documents' style and the keras.io example's draw the same noise.
    np.testing.assert_array_equal(
        Sampler(seed=3)(z_mean, z_log_var), Sampler(seed=3)([z_mean, z_log_var])
    )
    many = np.asarray(Sampler(seed=3)(z_mean, z_log_var, num_samples=20_000))
    assert many.shape == (2, 20_000, 2)
    np.testing.assert_allclose(many.mean(axis=1), z_mean, atol=0.05)
    np.testing.assert_allclose(many.std(axis=1), np.exp(0.5 * np.asarray(z_log_var)), rtol=0.03)
    inputs = [keras.Input((2,)), keras.Input((2,))]
    functional = keras.Model(
        inputs, [Sampler()(*inputs), Sampler()(inputs), Sampler()(*inputs, num_samples=3)]
    )
    assert [tuple(output.shape) for output in functional.outputs] == [
        (None, 2),
        (None, 2),
        (None, 3, 2),
    ]
    with pytest.raises(ValueError, match=r"sampler\(z_mean, z_log_var\) or sampler\(\[z_mean"):
        Sampler()(z_mean)
