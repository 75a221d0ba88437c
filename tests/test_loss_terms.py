"""Named loss terms: the one step adds them up, logs each by its name, and counts add_loss.

Checked against independent computations: the objective of given terms (free
bits, weights, a bound that replaces the ELBO), the metrics a new term gets,
and the layers' own losses in both the training and the evaluation step.
"""

import keras
import numpy as np
import pytest
from conftest import assert_close
from harness import run_variant_test

import vae_tf
from vae_tf.models import VAE
from vae_tf.models import LossTerm
from vae_tf.models.objective import batch_objective
from vae_tf.models.objective import global_batch_size
from vae_tf.models.objective import total


def test_the_objective_adds_weighted_terms_floors_per_dimension_and_skips_logged_ones():
    reconstruction = np.array([100.0, 120.0], "float32")
    kl = np.array([[0.1, 2.0, 0.3], [0.3, 4.0, 0.5]], "float32")  # batch means .2, 3, .4
    penalty = np.array([1.0, 3.0], "float32")
    terms = {
        "reconstruction": LossTerm(reconstruction),
        "kl": LossTerm(kl, weight=2.0, floor=0.5),
        "penalty": LossTerm(penalty, weight=0.1, in_total=False),
        "shown": LossTerm(np.array([7.0, 9.0], "float32"), optimized=False, in_total=False),
    }
    objective, loss = batch_objective(terms)
    expected = 110.0 + 2.0 * (0.5 + 3.0 + 0.5) + 0.1 * 2.0
    assert_close(objective, expected)
    assert_close(loss, expected)
    # The negative ELBO: reconstruction + KL per example, without the penalty.
    assert_close(total(terms), reconstruction + kl.sum(axis=1))
    with pytest.raises(ValueError, match="no optimized term"):
        batch_objective({"kl": LossTerm(kl, optimized=False)})


@keras.saving.register_keras_serializable(package="vae_tf_tests")
class PenalizedVAE(VAE):
    """A VAE with one more term outside the ELBO: the squared code times global batch / N.

    The factor is what a minibatch estimator's term looks like: it must see
    the global batch under a strategy, not a replica's.
    """

    loss_term_names = ("reconstruction", "kl", "code_norm")

    def loss_terms(self, images, condition=None, training=False):
        terms = super().loss_terms(images, condition, training)
        code = self.posterior(images, condition, training=training).mean()
        scale = global_batch_size(code) / self.dataset_size
        norm = keras.ops.sum(keras.ops.square(code), axis=-1) * scale
        return {**terms, "code_norm": LossTerm(norm, weight=0.5, in_total=False)}


def _penalized(**kwargs):
    return PenalizedVAE(*vae_tf.build_encoder_decoder("mlp", 2), seed=0, **kwargs)


def test_a_new_term_is_logged_by_its_name_with_no_other_change(mnist_small):
    (x, _), (x_test, _) = mnist_small
    model = _penalized()
    model.compile(optimizer="adam", steps_per_execution=1)
    history = model.fit(
        x[:256], epochs=1, batch_size=64, verbose=0, validation_data=(x_test[:64],)
    ).history
    assert model.dataset_size == 256  # fit on arrays tells the terms the dataset's size
    for key in ("code_norm_loss", "val_code_norm_loss", "reconstruction_loss", "kl_loss"):
        assert key in history, sorted(history)
    # The evaluation step's figures, against the terms computed by hand.
    images = keras.ops.convert_to_tensor(x_test[:64])
    logs = model.evaluate(x_test[:64], batch_size=64, verbose=0, return_dict=True)
    code = keras.ops.convert_to_numpy(model.encode(x_test[:64])[0])
    expected = float((code**2).sum(axis=1).mean()) * 64 / 256
    assert logs["code_norm_loss"] == pytest.approx(expected, rel=1e-5)
    terms = model.per_example_losses(images)
    assert set(terms) == {"reconstruction", "kl", "code_norm"}
    assert logs["total_loss"] == pytest.approx(
        float(np.mean(terms["reconstruction"] + terms["kl"])), rel=0.05
    )


def test_a_term_that_needs_the_dataset_size_and_the_global_batch_passes_the_harness(
    mnist_small, tmp_path
):
    # Its mirrored check weighs by the global batch: a replica's own would
    # halve the penalty's gradient on two replicas.
    (x, _), _ = mnist_small
    model = _penalized(objective="iwae", num_samples=2)
    history = run_variant_test(model, x[:64], tmp_path=tmp_path)
    assert "code_norm_loss" in history and "val_code_norm_loss" in history


def test_a_term_that_is_not_named_is_refused_with_the_fix(mnist_small):
    (x, _), _ = mnist_small

    class Unnamed(PenalizedVAE):
        loss_term_names = ("reconstruction", "kl")

    model = Unnamed(*vae_tf.build_encoder_decoder("mlp", 2), seed=0)
    model.compile(optimizer="adam")
    model.dataset_size = 8
    with pytest.raises(ValueError, match=r"code_norm.*loss_term_names"):
        model.test_on_batch(x[:8])


def test_the_layers_own_losses_count_in_training_and_in_evaluation(mnist_small):
    (x, _), _ = mnist_small
    encoder, decoder = vae_tf.build_encoder_decoder("mlp", 2)
    penalty = keras.layers.ActivityRegularization(l2=1e-3, name="penalty")
    inputs = keras.Input(encoder.inputs[0].shape[1:])
    z_mean, z_log_var = encoder(inputs)[:2]
    regularized = keras.Model(inputs, [penalty(z_mean), z_log_var])
    model = VAE(regularized, decoder, seed=0)
    plain = VAE(encoder, decoder, seed=0)
    for each in (model, plain):
        each.compile(optimizer="adam", steps_per_execution=1)
    images = x[:32]
    code = keras.ops.convert_to_numpy(plain.encode(images)[0])
    # Keras' activity regularizer: l2 * sum(z^2) over the batch, divided by its size.
    expected_extra = 1e-3 * float((code**2).sum()) / len(images)
    with_extra = model.evaluate(images, batch_size=32, verbose=0, return_dict=True)
    without = plain.evaluate(images, batch_size=32, verbose=0, return_dict=True)
    assert with_extra["loss"] - without["loss"] == pytest.approx(expected_extra, rel=0.05, abs=1e-4)
    assert with_extra["total_loss"] == pytest.approx(without["total_loss"], rel=1e-4)
    # Training: the objective logged includes the penalty, too.
    trained = model.train_on_batch(images, return_dict=True)
    assert trained["loss"] - trained["total_loss"] == pytest.approx(
        expected_extra, rel=0.05, abs=1e-4
    )
