import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_close

from vae_tf.models import FusedAdam


def _train(optimizer, gradients, start, compiled):
    variable = keras.Variable(start)
    optimizer.build([variable])

    def step(gradient):
        optimizer.apply([gradient], [variable])

    step = tf.function(step) if compiled else step
    for gradient in gradients:
        step(gradient)
    index = optimizer._get_variable_index(variable)
    return [
        np.array(value)
        for value in (variable, optimizer._momentums[index], optimizer._velocities[index])
    ]


@pytest.mark.parametrize("compiled", [False, True])
def test_fused_adam_takes_keras_adams_steps(compiled):
    rng = np.random.default_rng(0)
    start = rng.normal(size=(5, 3)).astype("float32")
    gradients = [
        tf.constant(rng.normal(size=(5, 3)) * 10.0**power, "float32") for power in (-3, 0, 2, -1, 1)
    ]
    settings = dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6)
    expected = _train(keras.optimizers.Adam(**settings), gradients, start, compiled)
    fused = _train(FusedAdam(**settings), gradients, start, compiled)
    for actual, wanted in zip(fused, expected):
        assert_close(actual, wanted, rtol=1e-5, atol=1e-7)
    assert not np.allclose(fused[0], start)


def test_fused_adam_leaves_sparse_gradients_and_amsgrad_to_keras():
    start = np.ones((4, 2), "float32")
    sparse = tf.IndexedSlices(tf.constant([[1.0, 2.0]]), tf.constant([2]), tf.constant([4, 2]))
    for settings in ({}, {"amsgrad": True}):
        expected = _train(keras.optimizers.Adam(**settings), [sparse] * 2, start, compiled=False)
        fused = _train(FusedAdam(**settings), [sparse] * 2, start, compiled=False)
        for actual, wanted in zip(fused, expected):
            assert_close(actual, wanted, rtol=1e-6)


def test_fused_adam_survives_serialization():
    optimizer = FusedAdam(learning_rate=0.002, beta_1=0.5)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(again) is FusedAdam
    assert again.get_config() == optimizer.get_config()
