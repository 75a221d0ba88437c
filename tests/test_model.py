import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_close
from keras import layers

import vae_tf
from vae_tf import VAE


def deterministic_vae(latent_dim=2, beta=1.0):
    """A VAE whose posterior variance is exp(-30): z equals z_mean to ~1e-7."""
    inputs = keras.Input((28, 28, 1))
    h = layers.Dense(8, activation="tanh")(layers.Flatten()(inputs))
    z_mean = layers.Dense(latent_dim)(h)
    z_log_var = layers.Dense(
        latent_dim,
        kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant(-30.0),
        trainable=False,
    )(h)
    encoder = keras.Model(inputs, [z_mean, z_log_var])
    decoder = vae_tf.build_decoder("mlp", latent_dim)
    return VAE(encoder, decoder, beta=beta, seed=0)


def independent_objective(vae, x, beta):
    """The per-example-summed, batch-averaged objective, with plain TF ops."""
    z_mean, _ = vae.encoder(x)
    logits = vae.decoder(z_mean)
    reconstruction = tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), axis=[1, 2, 3]
    )
    kl = 0.5 * tf.reduce_sum(tf.exp(-30.0) + z_mean**2 - 1.0 + 30.0, axis=1)
    return tf.reduce_mean(reconstruction + beta * kl), reconstruction, kl


def test_metrics_are_per_example_sums_averaged_over_the_batch(mnist_small):
    (x, _), _ = mnist_small
    x = x[:32]
    vae = deterministic_vae(beta=2.0)
    vae.compile(optimizer="sgd")
    results = vae.evaluate(x, batch_size=32, verbose=0, return_dict=True)
    _, reconstruction, kl = independent_objective(vae, x, beta=2.0)
    assert_close(results["reconstruction_loss"], np.mean(reconstruction), rtol=1e-5)
    assert_close(results["kl_loss"], np.mean(kl), rtol=1e-5)
    assert_close(results["total_loss"], np.mean(reconstruction + kl), rtol=1e-5)
    assert_close(results["loss"], np.mean(reconstruction + 2.0 * kl), rtol=1e-5)


def test_train_step_follows_the_gradient_of_the_batch_mean_objective(mnist_small):
    (x, _), _ = mnist_small
    x = tf.constant(x[:16])
    vae = deterministic_vae(beta=1.5)
    learning_rate = 0.01
    vae.compile(optimizer=keras.optimizers.SGD(learning_rate))
    weights = vae.trainable_weights
    with tf.GradientTape() as tape:
        objective, _, _ = independent_objective(vae, x, beta=1.5)
    expected = [
        w.numpy() - learning_rate * g.numpy()
        for w, g in zip(weights, tape.gradient(objective, weights))
    ]
    vae.fit(x, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for weight, value in zip(weights, expected):
        assert_close(weight.numpy(), value, rtol=1e-4, atol=1e-6)


def test_a_few_epochs_lower_the_loss_and_report_validation(mnist_small):
    (x, _), (x_test, _) = mnist_small
    vae = vae_tf.VAE(*vae_tf.build_encoder_decoder("conv", 2), seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    before = vae.evaluate(x_test, verbose=0, return_dict=True)["total_loss"]
    history = vae.fit(x, epochs=3, batch_size=64, validation_data=(x_test,), verbose=0).history
    for key in ("loss", "total_loss", "reconstruction_loss", "kl_loss"):
        assert key in history and "val_" + key in history
    assert history["total_loss"][-1] < history["total_loss"][0]
    assert history["val_total_loss"][-1] < 0.6 * before
    assert all(np.isfinite(history["val_kl_loss"]))


def test_keras_io_example_runs_unchanged(mnist_small):
    # The keras.io example's own code: a 3-output encoder with its Sampling
    # layer and a decoder ending in a sigmoid.
    class Sampling(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            batch = keras.ops.shape(z_mean)[0]
            dim = keras.ops.shape(z_mean)[1]
            epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
            return z_mean + keras.ops.exp(0.5 * z_log_var) * epsilon

    latent_dim = 2
    encoder_inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
    x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = Sampling()([z_mean, z_log_var])
    encoder = keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")

    latent_inputs = keras.Input(shape=(latent_dim,))
    x = layers.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
    x = layers.Reshape((7, 7, 64))(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
    decoder = keras.Model(latent_inputs, decoder_outputs, name="decoder")

    (mnist_digits, _), _ = mnist_small
    vae = VAE(encoder, decoder)
    vae.compile(optimizer=keras.optimizers.Adam())
    history = vae.fit(mnist_digits, epochs=2, batch_size=128, verbose=0).history

    assert vae.decoder_output == "probabilities"
    assert history["loss"][-1] < history["loss"][0]
    # The sigmoid decoder's likelihood is the clipped binary cross-entropy.
    results = vae.evaluate(mnist_digits[:64], batch_size=64, verbose=0, return_dict=True)
    assert 100 < results["reconstruction_loss"] < 600


def test_keras_round_trip_gives_identical_outputs(tmp_path, conv_vae, mnist_small):
    (x, _), _ = mnist_small
    conv_vae.compile(optimizer="adam")
    conv_vae.fit(x[:256], epochs=1, batch_size=128, verbose=0)
    conv_vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras", safe_mode=True)
    assert isinstance(loaded, VAE)
    assert loaded.get_config()["seed"] == 3 and loaded.decoder_output == "logits"
    z = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    np.testing.assert_array_equal(conv_vae.decode(z), loaded.decode(z))
    np.testing.assert_array_equal(conv_vae.encode(x[:8])[0], loaded.encode(x[:8])[0])
    # The optimizer state came back too: training continues where it was.
    assert loaded.optimizer.iterations.numpy() == conv_vae.optimizer.iterations.numpy()


def test_inference_methods(conv_vae, mnist_small):
    (x, _), _ = mnist_small
    z_mean, z_log_var = conv_vae.encode(x[:5])
    assert tuple(z_mean.shape) == tuple(z_log_var.shape) == (5, 2)
    images = conv_vae.decode(z_mean)
    assert tuple(images.shape) == (5, 28, 28, 1)
    assert np.all((np.asarray(images) >= 0) & (np.asarray(images) <= 1))
    np.testing.assert_array_equal(conv_vae.reconstruct(x[:5]), images)
    np.testing.assert_array_equal(conv_vae.predict(x[:5], verbose=0), images)
    assert not np.array_equal(conv_vae.reconstruct(x[:5], sample=True), images)
    np.testing.assert_array_equal(conv_vae.sample(4, seed=1), conv_vae.sample(4, seed=1))
    assert tuple(conv_vae.sample(3).shape) == (3, 28, 28, 1)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((4, 28, 28), "float32"), r"np\.newaxis"),
        (np.zeros((4, 32, 32, 1), "float32"), r"must have shape \(N, 28, 28, 1\)"),
        (np.full((4, 28, 28, 1), 255.0, "float32"), "divide by 255"),
        (np.full((4, 28, 28, 1), -0.5, "float32"), r"\[0, 1\]"),
        (np.full((4, 28, 28, 1), np.nan, "float32"), "NaN"),
        (np.zeros((0, 28, 28, 1), "float32"), "empty"),
        (np.array([["a"]]), "numeric"),
    ],
)
def test_bad_images_get_clear_errors(conv_vae, bad, message):
    conv_vae.compile(optimizer="adam")
    with pytest.raises(ValueError, match=message):
        conv_vae.fit(bad, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=message):
        conv_vae.encode(bad)


def test_bad_validation_data_and_codes_get_clear_errors(conv_vae):
    conv_vae.compile(optimizer="adam")
    good = np.zeros((4, 28, 28, 1), "float32")
    with pytest.raises(ValueError, match="validation_data.*divide by 255"):
        conv_vae.fit(good, validation_data=(good + 255.0,), verbose=0)
    with pytest.raises(ValueError, match=r"z must have shape \(N, 2\)"):
        conv_vae.decode(np.zeros((3, 5)))


def test_mismatched_networks_are_refused():
    encoder = vae_tf.build_encoder("conv", 2)
    with pytest.raises(ValueError, match="latent codes of size 2"):
        VAE(encoder, vae_tf.build_decoder("conv", 3))
    with pytest.raises(ValueError, match="decoder outputs images of shape"):
        VAE(encoder, vae_tf.build_decoder("conv", 2, image_shape=(32, 32, 1)))
    with pytest.raises(ValueError, match="beta must be"):
        VAE(encoder, vae_tf.build_decoder("conv", 2), beta=-1)
    with pytest.raises(ValueError, match="built keras.Model"):
        VAE(encoder, lambda z: z)
