"""The VQ-VAE and its PixelCNN prior over the code indices.

The objective's terms against numpy (the nearest codes, the squared
distances, the reconstruction of the quantized map), the straight-through
gradient, which weights each optimizer holds; the prior: uniform while
untrained, causal, seeded draws, learning a pattern of codes; the index
checks of `decode` and of the SavedModel; the settings' refusals; a run
through `vae_tf.train` with its prior stage, interrupted and resumed to the
uninterrupted weights; and `run_variant_test` (slow).
"""

import math
import os
import signal

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_close
from harness import run_variant_test

import vae_tf
from vae_tf.models.architectures import build_vq_networks
from vae_tf.models.code_prior import CodePixelCNN
from vae_tf.models.vq_vae import VQVAE
from vae_tf.runs import TrainConfig
from vae_tf.runs import code_prior as code_prior_stage
from vae_tf.runs import train
from vae_tf.runs.code_prior import CodePriorTrainer


def numpy_of(value):
    return keras.ops.convert_to_numpy(value)


def small_vq(codebook_size=16, code_dim=4, update="ema", num_classes=None, **kwargs):
    keras.utils.set_random_seed(0)
    return VQVAE(
        *build_vq_networks(code_dim, num_classes=num_classes, hidden=8),
        codebook_size=codebook_size,
        codebook_update=update,
        prior_layers=2,
        prior_filters=8,
        seed=0,
        num_classes=num_classes,
        **kwargs,
    )


def test_the_terms_are_the_nearest_codes_distances_and_the_quantized_reconstruction(
    mnist_small,
):
    (x, _), _ = mnist_small
    model = small_vq()
    model.quantizer.codebook.assign(np.random.default_rng(1).normal(size=(16, 4)) * 0.3)
    images = x[:6]
    terms = model.per_example_losses(images)
    z_e = numpy_of(model.encoder(images)).astype("float64")
    codebook = numpy_of(model.quantizer.codebook).astype("float64")
    distances = ((z_e[..., None, :] - codebook) ** 2).sum(-1)  # (6, 7, 7, 16)
    indices = distances.argmin(-1)
    np.testing.assert_array_equal(numpy_of(model.encode(images)[0]), indices)
    squared = distances.min(-1).reshape(6, -1).sum(1)
    assert_close(terms["codebook"], squared, rtol=1e-4)
    assert_close(terms["commitment"], squared, rtol=1e-4)
    logits = numpy_of(model.decoder(codebook[indices].astype("float32"))).astype("float64")
    nll = (np.maximum(logits, 0) - logits * images + np.log1p(np.exp(-np.abs(logits)))).reshape(
        6, -1
    )
    assert_close(terms["reconstruction"], nll.sum(1), rtol=1e-4)
    assert_close(model.reconstruct(images), 1 / (1 + np.exp(-logits)), atol=1e-5)


def test_gradients_pass_straight_through_and_each_optimizer_holds_its_own_weights(mnist_small):
    (x, _), _ = mnist_small
    model = small_vq()
    images = tf.constant(x[:4])
    z_e = model.encoder_map(images)
    _, z_q = model.quantizer(z_e)
    # The reconstruction's gradient at z_e is the decoder's at z_q.
    with tf.GradientTape() as tape:
        tape.watch(z_q)
        at_codes = tf.reduce_sum(model.reconstruction_nll(images, model.decoder(z_q)))
    expected = tape.gradient(at_codes, z_q)
    with tf.GradientTape() as tape:
        tape.watch(z_e)
        straight = z_e + tf.stop_gradient(z_q - z_e)
        through = tf.reduce_sum(model.reconstruction_nll(images, model.decoder(straight)))
    assert_close(tape.gradient(through, z_e), expected, atol=1e-5)
    trained = {weight.path for weight in model.trainable_weights}
    assert not any(path.startswith("prior/") for path in trained), sorted(trained)
    assert "quantizer/codebook" not in trained  # EMA: moved by averages
    loss_mode = small_vq(update="loss")
    assert "quantizer/codebook" in {weight.path for weight in loss_mode.trainable_weights}
    terms = loss_mode.loss_terms(images)
    assert terms["codebook"].optimized and not small_vq().loss_terms(images)["codebook"].optimized


def test_an_untrained_prior_is_uniform_causal_and_draws_by_seed():
    prior = CodePixelCNN(8, (3, 4), layers=3, filters=8)
    codes = np.random.default_rng(0).integers(0, 8, (5, 3, 4))
    assert_close(prior.log_prob(codes), np.full(5, -12 * math.log(8)), rtol=1e-6)
    assert prior.uniform_log_prob() == pytest.approx(-12 * math.log(8))
    rng = np.random.default_rng(1)
    for weight in prior.network.weights:
        weight.assign(rng.normal(size=weight.shape) * 0.3)
    base = numpy_of(prior.logits(codes[:1]))
    for position in range(12):
        changed = codes[:1].copy()
        changed[0, position // 4, position % 4] = (changed[0, position // 4, position % 4] + 1) % 8
        moved = np.abs(numpy_of(prior.logits(changed)) - base).reshape(12, 8).max(axis=1)
        assert np.all(moved[: position + 1] == 0), (position, moved)
        assert position == 11 or moved[position + 1 :].max() > 0
    drawn = numpy_of(prior.sample(6, seed=3, progress=False))
    assert drawn.shape == (6, 3, 4) and drawn.dtype == np.int32
    assert drawn.min() >= 0 and drawn.max() < 8
    np.testing.assert_array_equal(numpy_of(prior.sample(6, seed=3, progress=False)), drawn)
    assert not np.array_equal(numpy_of(prior.sample(6, seed=4, progress=False)), drawn)


def test_the_trainer_learns_a_pattern_of_codes_and_the_prior_draws_it():
    keras.utils.set_random_seed(0)
    prior = CodePixelCNN(6, (3, 3), layers=3, filters=16)
    prior.trainable = False  # as inside a VQ-VAE: the trainer trains it anyway
    first = np.random.default_rng(0).integers(0, 6, 2048)
    maps = ((first[:, None] + np.arange(9)) % 6).reshape(-1, 3, 3).astype("int32")
    trainer = CodePriorTrainer(prior)
    trainer.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = trainer.fit(maps, epochs=12, batch_size=64, verbose=0).history
    # Each code follows from the one before: only the first is uncertain, log 6 nats.
    assert history["prior_loss"][-1] < math.log(6) + 0.3, history["prior_loss"]
    drawn = numpy_of(prior.sample(20, seed=0, progress=False)).reshape(20, 9)
    follows = (drawn[:, 1:] - drawn[:, :-1]) % 6 == 1
    assert follows.mean() > 0.95, drawn


def test_decode_refuses_what_is_not_an_index_map_and_so_does_the_saved_model(tmp_path):
    model = small_vq()
    good = np.zeros((2, 7, 7), "int32")
    assert model.decode(good).shape == (2, 28, 28, 1)
    for bad, message in (
        (good + 16, r"in \[0, 15\] \(codebook_size 16\); got values from 16 to 16"),
        (good - 1, "got values from -1 to -1"),
        (good + 0.5, "not whole"),
        (good[:, :5], r"shape \(N, 7, 7\)"),
        (tf.zeros((2, 7, 7)), "integers; got a float32 tensor"),
    ):
        with pytest.raises(ValueError, match=message):
            model.decode(bad)
    assert model.decode(good.astype("float32")).shape == (2, 28, 28, 1)  # whole numbers pass
    loaded = tf.saved_model.load(vae_tf.export_saved_model(model, tmp_path / "saved_model"))
    assert loaded.decode(tf.constant(good)).shape == (2, 28, 28, 1)
    for bad in (good + 16, good - 1):
        with pytest.raises(tf.errors.InvalidArgumentError, match="codebook indices must be"):
            loaded.decode(tf.constant(bad))


def test_settings_are_refused_with_the_setting_named(tmp_path):
    with pytest.raises(ValueError, match="prior_epochs cannot apply.*model=vq_vae"):
        TrainConfig(prior_epochs=3).validate()
    with pytest.raises(ValueError, match="codebook_size"):
        TrainConfig(model="vq_vae", codebook_size=1).validate()
    with pytest.raises(ValueError, match="drop architecture='mlp'"):
        TrainConfig(model="vq_vae", architecture="mlp").validate()
    with pytest.raises(ValueError, match="drop vq_hidden"):
        TrainConfig(model="vq_vae", vq_networks="keras_io", vq_hidden=32).validate()
    with pytest.raises(ValueError, match="multiples of 4.*image_size="):
        build_vq_networks(4, (30, 30, 1))
    with pytest.raises(ValueError, match="drop prior="):
        VQVAE(*build_vq_networks(4), prior="vamp")
    with pytest.raises(ValueError, match="one map of code vectors"):
        VQVAE(*vae_tf.build_encoder_decoder("mlp", 2, variational=False))


def test_the_run_trains_the_prior_after_the_vq_vae_and_resumes_it_exactly(
    tmp_path, monkeypatch, ctrl_c_raises
):
    settings = dict(
        model="vq_vae",
        vq_networks="keras_io",
        latent_dim=4,
        codebook_size=16,
        prior_layers=2,
        prior_filters=8,
        epochs=1,
        steps_per_epoch=4,
        prior_epochs=2,
        train_on_all=False,
        seed=0,
    )
    whole = train(TrainConfig(output_dir=str(tmp_path / "whole"), **settings), verbose=0)
    assert len(whole.prior_history["prior_loss"]) == 2
    assert os.path.isfile(tmp_path / "whole" / "prior_history.csv")
    assert os.listdir(tmp_path / "whole" / "logs" / "prior")
    model = whole.model
    codes = numpy_of(model.encode(vae_tf.data.load_mnist()[1][0][:64])[0])
    trained = numpy_of(model.prior_log_prob(codes)).mean()
    assert trained > model.prior.uniform_log_prob() + 1.0, trained
    loaded = vae_tf.load_run(whole.run_dir)
    assert_close(loaded.model.prior_log_prob(codes), model.prior_log_prob(codes), atol=1e-4)
    assert loaded.prior_history == whole.prior_history
    assert model.sample(3, seed=0).shape == (3, 28, 28, 1)

    # Interrupted in the prior's first epoch, then resumed: the same prior.
    original = code_prior_stage.EpochTimer

    class Interrupting(original):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations) == 5:
                os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(code_prior_stage, "EpochTimer", Interrupting)
    config = TrainConfig(output_dir=str(tmp_path / "resumed"), **settings)
    with pytest.raises(vae_tf.TrainingInterrupted, match="checkpoint.*prior"):
        train(config, verbose=0)
    monkeypatch.setattr(code_prior_stage, "EpochTimer", original)
    resumed = train(config, verbose=0)
    for mine, theirs in zip(resumed.model.prior.weights, whole.model.prior.weights):
        np.testing.assert_allclose(mine, theirs, atol=1e-6, err_msg=mine.path)
    # (The resumed epoch's mean is over its steps after the interruption.)
    assert_close(resumed.prior_history["prior_loss"][0], whole.prior_history["prior_loss"][0])
    assert_close(resumed.prior_history["val_prior_loss"], whole.prior_history["val_prior_loss"])


@pytest.mark.slow
def test_the_vq_vae_passes_the_family_checks(tmp_path, mnist_small):
    (x, _), _ = mnist_small
    run_variant_test(small_vq(), x[:64], tmp_path=tmp_path)


def test_an_image_size_the_strides_do_not_divide_is_refused_before_training(tmp_path):
    from PIL import Image

    for index in range(4):
        path = tmp_path / "images" / f"class{index % 2}" / f"{index}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((30, 30), 40 * index, "uint8")).save(path)
    config = TrainConfig(
        model="vq_vae",
        data_dir=str(tmp_path / "images"),
        image_size=30,
        channels=1,
        output_dir=str(tmp_path / "run"),
    )
    with pytest.raises(ValueError, match="multiples of 4.*image_size="):
        train(config, verbose=0)
    assert not os.path.exists(tmp_path / "run") and not os.path.exists(tmp_path / "run.partial")


def test_evaluate_reports_the_codebook_and_the_bits_per_dimension(tiny_vq_run):
    from vae_tf.metrics.codebook import codebook_perplexity
    from vae_tf.runs.evaluate import evaluate_run

    run = tiny_vq_run
    result = evaluate_run(run.run_dir, num_examples=64)
    model = run.model
    images = vae_tf.data.binarize_images(vae_tf.data.load_mnist()[1][0][:64], "dynamic", 0)
    indices = numpy_of(model.encode(images)[0])
    counts = np.bincount(indices.ravel(), minlength=16)
    assert result["codebook_perplexity"] == pytest.approx(codebook_perplexity(counts))
    assert 1.0 <= result["codebook_perplexity"] <= 16
    assert result["codebook_usage"] == pytest.approx(np.mean(counts > 0))
    reconstruction = numpy_of(model.code_reconstruction_nll(images, indices))
    prior = -numpy_of(model.prior_log_prob(indices))
    assert result["reconstruction"] == pytest.approx(reconstruction.mean(), rel=1e-5)
    assert result["prior_nll"] == pytest.approx(prior.mean(), rel=1e-5)
    assert result["prior_nll"] < result["prior_uniform_nll"] == pytest.approx(49 * math.log(16))
    expected = (reconstruction + prior).mean() / (784 * math.log(2))
    assert result["bits_per_dim"] == pytest.approx(expected, rel=1e-5)
    assert result["nll"] is None and result["elbo"] is None and result["active_units"] is None


@pytest.mark.slow
def test_a_conditional_vq_vae_passes_the_family_checks(tmp_path, mnist_small):
    (x, y), _ = mnist_small
    model = small_vq(num_classes=10)
    run_variant_test(model, x[:64], y[:64], tmp_path=tmp_path)
    # Its prior draws each label's codes: the same seed, other labels, other maps.
    zeros = numpy_of(model.prior_codes(4, 3, [0, 0, 0, 0]))
    assert zeros.shape == (4, 7, 7)
    assert np.array_equal(numpy_of(model.prior_codes(4, 3, [0, 0, 0, 0])), zeros)
