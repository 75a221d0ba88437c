"""Mixed precision trains like float32 on the CPU: same loss trajectory, no NaN."""

import keras
import numpy as np
import pytest

from vae_tf.runs import TrainConfig
from vae_tf.runs import build_model


def _history(x, precision, batch_size=128, **settings):
    keras.utils.set_random_seed(0)
    model = build_model(TrainConfig(mixed_precision=precision, seed=0, **settings))
    history = model.fit(x, epochs=4, batch_size=batch_size, shuffle=False, verbose=0).history
    return model, history


# float16 is emulated on CPUs: slow here (about 10 s a step of 128 images).
@pytest.mark.parametrize(
    "policy", [pytest.param("mixed_float16", marks=pytest.mark.slow), "mixed_bfloat16"]
)
def test_mixed_precision_follows_the_float32_loss_trajectory(policy, mnist_small):
    (x, _), _ = mnist_small
    # 16 steps of 32 images: emulated float16 took 203 s for 32 steps of 128.
    x = x[:128]
    _, reference = _history(x, "float32", batch_size=32)
    model, history = _history(x, policy, batch_size=32)
    # Low precision inside the networks; heads, losses and weights in float32.
    assert model.encoder.layers[1].compute_dtype == policy.split("_")[1]
    assert model.encoder.get_layer("z_log_var").compute_dtype == "float32"
    assert model.decoder.get_layer("logits").compute_dtype == "float32"
    assert all(weight.dtype == "float32" for weight in model.weights)
    assert keras.config.dtype_policy().name == "float32"  # restored after building
    # float16 gradients are scaled against underflow.
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) == (
        policy == "mixed_float16"
    )
    for key in ("total_loss", "reconstruction_loss", "kl_loss"):
        assert np.isfinite(history[key]).all(), (key, history[key])
    np.testing.assert_allclose(history["total_loss"], reference["total_loss"], rtol=0.02)
    np.testing.assert_allclose(
        history["reconstruction_loss"], reference["reconstruction_loss"], rtol=0.02
    )
    assert history["total_loss"][-1] < 0.8 * history["total_loss"][0]


def test_iwae_vamp_prior_and_two_layers_train_in_bfloat16_like_float32(mnist_small):
    (x, _), _ = mnist_small
    settings = dict(
        architecture="mlp",
        latent_dim=8,
        stochastic_layers=2,
        objective="iwae",
        num_samples=3,
        prior="vamp",
        prior_components=10,
    )
    _, reference = _history(x, "float32", **settings)
    model, history = _history(x, "mixed_bfloat16", **settings)
    assert model.top_encoder.layers[1].compute_dtype == "bfloat16"
    assert all(weight.dtype == "float32" for weight in model.weights)  # pseudo-inputs too
    for key in ("loss", "total_loss", "kl_loss"):
        assert np.isfinite(history[key]).all(), (key, history[key])
    np.testing.assert_allclose(history["loss"], reference["loss"], rtol=0.02)
    assert history["loss"][-1] < 0.8 * history["loss"][0]
