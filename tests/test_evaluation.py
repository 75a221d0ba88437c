"""The ELBO / importance-weighted likelihood estimator and scripts/evaluate.py."""

import json
import math
import os

import keras
import numpy as np
import pytest
from conftest import run_python
from keras import layers

import vae_tf
from vae_tf.metrics import evaluate_likelihood
from vae_tf.metrics import log_importance_weights
from vae_tf.runs import evaluate_run
from vae_tf.runs import run_binarization
from vae_tf.runs.evaluate import progress_file

SIGMA = 0.3
OFFSET = 0.5


def linear_gaussian_vae(scales=(0.4, 0.2)):
    """A VAE whose q(z|x) is the exact posterior of a linear-Gaussian model.

    p(z) = N(0, I), p(x|z) = N(W z + b, sigma^2 I) on 4 pixels with 2 latent
    dimensions; W = Q diag(scales) with orthonormal columns, so the posterior
    N(S W^T (x - b) / sigma^2, S), S = (I + W^T W / sigma^2)^-1, is diagonal
    and the encoder can represent it exactly.

    Returns:
        `(model, log_marginal)`, `log_marginal(x)` being the analytic
        `log N(x; b, W W^T + sigma^2 I)` of flattened images.
    """
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 2)))
    w = q * np.asarray(scales)
    posterior_var = 1.0 / (1.0 + np.asarray(scales) ** 2 / SIGMA**2)
    a = (posterior_var[:, None] * w.T) / SIGMA**2  # posterior mean = a (x - b)

    images = keras.Input((2, 2, 1))
    flat = layers.Flatten()(images)
    z_mean = layers.Dense(2, name="z_mean")(flat)
    z_log_var = layers.Dense(2, name="z_log_var")(flat)
    encoder = keras.Model(images, [z_mean, z_log_var])
    encoder.get_layer("z_mean").set_weights([a.T, -a @ np.full(4, OFFSET)])
    encoder.get_layer("z_log_var").set_weights([np.zeros((4, 2)), np.log(posterior_var)])
    z = keras.Input((2,))
    decoder = keras.Model(z, layers.Reshape((2, 2, 1))(layers.Dense(4, name="mean")(z)))
    decoder.get_layer("mean").set_weights([w.T, np.full(4, OFFSET)])
    model = vae_tf.VAE(
        encoder,
        decoder,
        likelihood="gaussian",
        sigma=SIGMA,
        decoder_output="probabilities",
        seed=0,
    )

    covariance = w @ w.T + SIGMA**2 * np.eye(4)
    _, log_det = np.linalg.slogdet(covariance)
    inverse = np.linalg.inv(covariance)

    def log_marginal(x):
        centred = x.reshape(len(x), 4) - OFFSET
        mahalanobis = np.einsum("ni,ij,nj->n", centred, inverse, centred)
        return -0.5 * (mahalanobis + log_det + 4 * math.log(2 * math.pi))

    return model, log_marginal


@pytest.mark.parametrize("num_samples, chunk_size", [(1, 2048), (50, 2048), (50, 7)])
def test_exact_posterior_gives_the_analytic_log_likelihood(num_samples, chunk_size):
    model, log_marginal = linear_gaussian_vae()
    x = np.random.default_rng(1).uniform(size=(20, 2, 2, 1)).astype("float32")
    result = evaluate_likelihood(
        model, x, num_samples=num_samples, chunk_size=chunk_size, per_example=True
    )
    # With q(z|x) = p(z|x) every importance weight equals p(x): any K is exact.
    np.testing.assert_allclose(result["per_example_nll"], -log_marginal(x), atol=1e-4)
    assert result["nll"] == pytest.approx(-log_marginal(x).mean(), abs=1e-4)
    assert result["elbo"] == pytest.approx(result["nll"], abs=0.3)  # the ELBO is tight too
    assert result["k"] == num_samples and result["num_examples"] == 20
    assert result["nll_bits_per_dim"] == pytest.approx(result["nll"] / (4 * math.log(2)))


def test_inexact_posterior_bound_is_above_the_true_nll():
    model, log_marginal = linear_gaussian_vae()
    model.encoder.get_layer("z_log_var").set_weights(
        [np.zeros((4, 2)), np.log([0.3, 2.0])]  # too narrow and too wide
    )
    x = np.random.default_rng(2).uniform(size=(30, 2, 2, 1)).astype("float32")
    true_nll = -log_marginal(x).mean()
    nlls = [evaluate_likelihood(model, x, num_samples=k)["nll"] for k in (1, 10, 1000)]
    assert nlls[0] > nlls[1] > nlls[2] > true_nll - 0.01
    assert nlls[2] == pytest.approx(true_nll, abs=0.05)  # and converges to it


@pytest.fixture(scope="module")
def trained_mlp(mnist_small):
    (x, _), _ = mnist_small
    keras.utils.set_random_seed(0)
    encoder, decoder = vae_tf.build_encoder_decoder("mlp", latent_dim=8)
    model = vae_tf.VAE(encoder, decoder, seed=0)
    model.compile(optimizer="adam")
    model.fit(x, epochs=2, batch_size=64, verbose=0)
    return model


def test_one_sample_equals_the_elbo_in_expectation(trained_mlp, mnist_small):
    _, (x_test, _) = mnist_small
    images = x_test[:16]
    log_weights = log_importance_weights(trained_mlp, images, num_samples=4000)
    assert log_weights.shape == (16, 4000)
    result = evaluate_likelihood(trained_mlp, images, num_samples=4000, seed=1, per_example=True)
    # E[-log w] = E[-log p(x|z)] + KL: the Monte Carlo KL against the closed form.
    # Both sides are averages of 4000 draws: compare within 5 standard errors.
    standard_error = math.sqrt(2 * np.sum(log_weights.var(axis=1)) / 4000) / 16
    difference = np.mean(-log_weights.mean(axis=1) - result["per_example_elbo"])
    assert abs(difference) < 5 * standard_error
    assert result["elbo"] == pytest.approx(result["reconstruction"] + result["kl"])
    # The K=1 estimator, averaged over its draws, is the ELBO.
    k1 = evaluate_likelihood(trained_mlp, np.repeat(images, 100, axis=0), num_samples=1)
    assert k1["nll"] == pytest.approx(result["elbo"], abs=1.0)


def test_bound_tightens_as_k_grows(trained_mlp, mnist_small):
    _, (x_test, _) = mnist_small
    nlls = [
        evaluate_likelihood(trained_mlp, x_test[:64], num_samples=k)["nll"] for k in (1, 10, 100)
    ]
    assert nlls[0] > nlls[1] > nlls[2]


def test_progress_bar_counts_images_and_changes_no_number(trained_mlp, mnist_small, capsys):
    _, (x_test, _) = mnist_small
    quiet = evaluate_likelihood(trained_mlp, x_test[:30], num_samples=50, chunk_size=500)
    shown = evaluate_likelihood(
        trained_mlp, x_test[:30], num_samples=50, chunk_size=500, progress=True
    )
    assert shown == quiet
    out = capsys.readouterr().out
    # Blocks of 10 images (500 codes / 50 draws): the bar ends at 30/30 with the NLL.
    assert "30/30" in out and f"nll: {quiet['nll']:.4f}" in out


def test_conditional_models_are_evaluated_given_their_labels(mnist_small):
    _, (x_test, y_test) = mnist_small
    encoder, decoder = vae_tf.build_encoder_decoder("mlp", 2, num_classes=10)
    model = vae_tf.VAE(encoder, decoder, num_classes=10, seed=0)
    result = evaluate_likelihood(model, x_test[:8], y_test[:8], num_samples=5)
    assert np.isfinite(result["nll"])
    with pytest.raises(ValueError, match="needs labels"):
        evaluate_likelihood(model, x_test[:8], num_samples=5)


def test_models_without_a_likelihood_are_refused(mnist_small):
    _, (x_test, _) = mnist_small
    encoder, decoder = vae_tf.build_encoder_decoder("mlp", 2, variational=False)
    with pytest.raises(ValueError, match="Autoencoder has no posterior"):
        evaluate_likelihood(vae_tf.Autoencoder(encoder, decoder), x_test[:4])
    encoder, decoder = vae_tf.build_encoder_decoder("mlp", 2)
    mse = vae_tf.VAE(encoder, decoder, likelihood="mse")
    with pytest.raises(ValueError, match="not a log-likelihood"):
        evaluate_likelihood(mse, x_test[:4])
    with pytest.raises(ValueError, match="shape"):
        evaluate_likelihood(vae_tf.VAE(encoder, decoder), x_test[:4, :20])
    with pytest.raises(ValueError, match="num_samples"):
        evaluate_likelihood(vae_tf.VAE(encoder, decoder), x_test[:4], num_samples=0)


def test_binarizations():
    images = np.array([[0.0, 0.3, 0.6, 1.0]] * 20000, "float32")
    assert (vae_tf.data.binarize_images(images, "static")[0] == [0, 0, 1, 1]).all()
    dynamic = vae_tf.data.binarize_images(images, "dynamic", seed=3)
    assert set(np.unique(dynamic)) == {0.0, 1.0}
    np.testing.assert_allclose(dynamic.mean(axis=0), [0.0, 0.3, 0.6, 1.0], atol=0.01)
    np.testing.assert_array_equal(dynamic, vae_tf.data.binarize_images(images, "dynamic", 3))
    with pytest.raises(ValueError, match="method must be one of"):
        vae_tf.data.binarize_images(images, "otsu")


@pytest.fixture(scope="module")
def binarized_run(tiny_run):
    """A tiny run trained on binarized images: `(run_dir, model)` (read, never changed)."""
    run = tiny_run(latent_dim=4, binarize=True)
    return run.run_dir, run.model


@pytest.mark.slow
def test_evaluate_script_prints_and_writes_json(binarized_run, tmp_path, judge_cache):
    run_dir, _ = binarized_run
    output = tmp_path / "out" / "evaluation.json"
    result = run_python(
        [
            "scripts/evaluate.py",
            f"--run_dir={run_dir}",
            "--k=20",
            "--num_examples=50",
            f"--output_json={output}",
            "--sample_quality",
            "--sample_quality_examples=300",
            "--judge_epochs=1",
        ],
        env={"VAE_TF_CACHE": judge_cache},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "binarization dynamic, K=20" in result.stdout  # the run trained binarized
    assert "negative ELBO" in result.stdout and "NLL (IWAE)" in result.stdout
    assert "50/50" in result.stdout and "nll:" in result.stdout  # the progress bar's end
    values = json.loads(output.read_text())
    assert {"elbo", "reconstruction", "kl", "nll", "k", "num_examples"} <= set(values)
    assert values["k"] == 20 and values["num_examples"] == 50
    assert 0 < values["nll"] <= values["elbo"] + 1.0
    assert values["elbo"] == pytest.approx(values["reconstruction"] + values["kl"])
    # Sample quality, with the judge of the session's cache (not retrained).
    assert "Training the judge" not in result.stdout
    assert "sample quality of 300 samples against as many test images" in result.stdout
    (fid_line,) = [line for line in result.stdout.splitlines() if line.startswith("FID")]
    assert f" {values['fid']:.3f}   (real train images: {values['real_fid']:.3f})" in fid_line
    assert values["judge_cached"] and values["judge_dir"].startswith(judge_cache)
    assert values["num_images"] == 300 and values["real_fid"] < values["fid"]
    assert 0 <= values["precision"] <= 1 and 0 <= values["recall"] <= 1
    assert "conditional_accuracy" not in values

    # A preset (vae_tf.presets), as a run: its metadata's slice, measured again.
    check = vae_tf.presets.metadata("mnist_conv_latent2")["check"]
    preset = run_python(
        [
            "scripts/evaluate.py",
            "--preset=mnist_conv_latent2",
            f"--k={check['k']}",
            f"--num_examples={check['num_examples']}",
            f"--output_json={output}",
        ],
        env={"VAE_TF_CACHE": str(tmp_path / "cache")},
    )
    assert preset.returncode == 0, preset.stderr[-3000:]
    assert "mnist_conv_latent2: " in preset.stdout
    values = json.loads(output.read_text())
    assert values["nll"] == pytest.approx(check["figures"]["nll"], rel=1e-3, abs=0.05)


def test_evaluate_run_matches_evaluate_likelihood(binarized_run, tmp_path):
    run_dir, model = binarized_run
    assert run_binarization(run_dir) == "dynamic"
    assert run_binarization(str(tmp_path)) == "none"  # no config.json
    result = evaluate_run(run_dir, num_samples=5, num_examples=30, binarize="static")
    _, (x_test, _) = vae_tf.data.load_mnist()
    direct = evaluate_likelihood(
        model, vae_tf.data.binarize_images(x_test[:30], "static"), num_samples=5
    )
    assert result["nll"] == pytest.approx(direct["nll"], rel=1e-5)
    assert result["binarize"] == "static" and result["split"] == "test"
    assert result["conditional"] is False and result["latent_dim"] == 4
    with pytest.raises(ValueError, match="split"):
        evaluate_run(run_dir, split="validation")


def _stopping_after(monkeypatch, calls, error=KeyboardInterrupt):
    """The log-weight function of the next evaluations raises `error` at its call `calls + 1`."""
    compiled = vae_tf.metrics.likelihood._log_weights_function
    count = [0]

    def stopping(model):
        function = compiled(model)

        def call(*args):
            count[0] += 1
            if count[0] > calls:
                raise error()
            return function(*args)

        return call

    monkeypatch.setattr(vae_tf.metrics.likelihood, "_log_weights_function", stopping)


@pytest.mark.parametrize("num_samples, chunk_size", [(30, 150), (30, 7)])
def test_a_stopped_evaluation_continues_to_the_uninterrupted_result(
    trained_mlp, mnist_small, tmp_path, monkeypatch, capsys, num_samples, chunk_size
):
    _, (x_test, _) = mnist_small
    images = x_test[:40]
    settings = dict(num_samples=num_samples, chunk_size=chunk_size, seed=3, per_example=True)
    whole = evaluate_likelihood(trained_mlp, images, **settings)
    saved = tmp_path / "progress.npz"
    # Blocks of 5 images in one call each, or 1 image in 5 calls (30 draws, 7 a call):
    # stopped in the fourth block, after 15 or 3 images.
    _stopping_after(monkeypatch, calls=3 if chunk_size == 150 else 17)
    with pytest.raises(KeyboardInterrupt) as stop:
        evaluate_likelihood(trained_mlp, images, progress_file=saved, **settings)
    done = 15 if chunk_size == 150 else 3
    assert str(stop.value) == (
        f"Interrupted after {done} of 40 images: their figures are saved in {saved}; "
        "evaluate again with the same settings to continue from there."
    )
    assert stop.value.exit_status == 130 and saved.exists()
    monkeypatch.undo()

    capsys.readouterr()
    continued = evaluate_likelihood(
        trained_mlp, images, progress_file=saved, progress=True, **settings
    )
    out = capsys.readouterr().out
    assert f"Continuing from {saved}: {done} of 40 images done." in out
    assert f"{40 - done}/{40 - done}" in out  # the bar counts the images left
    # The same draws as the uninterrupted evaluation: the same figures, to the bit.
    assert not saved.exists()
    for key in ("per_example_nll", "per_example_elbo"):
        np.testing.assert_array_equal(continued.pop(key), whole[key])
    whole.pop("per_example_nll"), whole.pop("per_example_elbo")
    assert continued == whole


def test_saved_progress_of_other_settings_or_weights_is_not_used(
    trained_mlp, mnist_small, tmp_path, monkeypatch
):
    _, (x_test, _) = mnist_small
    images = x_test[:20]
    saved = tmp_path / "progress.npz"
    # A crash (not a signal) keeps what the last save wrote: here every block.
    monkeypatch.setattr(vae_tf.metrics.likelihood, "SAVE_SECONDS", 0)
    _stopping_after(monkeypatch, calls=2, error=MemoryError)
    with pytest.raises(MemoryError):
        evaluate_likelihood(trained_mlp, images, num_samples=10, chunk_size=50, progress_file=saved)
    assert np.load(saved)["done"] == 10
    monkeypatch.undo()

    other_k = evaluate_likelihood(trained_mlp, images, num_samples=11, progress_file=saved)
    assert other_k == evaluate_likelihood(trained_mlp, images, num_samples=11)
    assert not saved.exists()

    _stopping_after(monkeypatch, calls=1)
    with pytest.raises(KeyboardInterrupt):
        evaluate_likelihood(trained_mlp, images, num_samples=10, chunk_size=50, progress_file=saved)
    monkeypatch.undo()
    retrained = keras.models.clone_model(trained_mlp)
    retrained.set_weights([w * 1.01 for w in trained_mlp.get_weights()])
    fresh = evaluate_likelihood(retrained, images, num_samples=10, chunk_size=50)
    assert (
        evaluate_likelihood(retrained, images, num_samples=10, chunk_size=50, progress_file=saved)
        == fresh
    )
    for damaged in (b"not an npz", b"", b"PK\x03\x04 truncated"):  # count as nothing done
        saved.write_bytes(damaged)
        assert (
            evaluate_likelihood(
                retrained, images, num_samples=10, chunk_size=50, progress_file=saved
            )
            == fresh
        )

    with pytest.raises(PermissionError, match="no such folder.*--nosave_progress"):
        evaluate_likelihood(
            trained_mlp, images, num_samples=2, progress_file=tmp_path / "missing" / "p.npz"
        )


def test_evaluate_run_keeps_its_progress_in_the_run(binarized_run, monkeypatch, capsys):
    run_dir, _ = binarized_run
    settings = dict(num_samples=5, num_examples=30, binarize="static", chunk_size=50)
    path = progress_file(run_dir, "test", "static", 5, 30, 0, 50)
    _stopping_after(monkeypatch, calls=2)
    with pytest.raises(KeyboardInterrupt, match=f"after 20 of 30 images.*saved in {path}"):
        evaluate_run(run_dir, save_progress=True, **settings)
    monkeypatch.undo()
    capsys.readouterr()
    # The run loaded again (its unnamed layers numbered anew) continues the same figures.
    continued = evaluate_run(run_dir, save_progress=True, progress=True, **settings)
    assert f"Continuing from {path}: 20 of 30 images done." in capsys.readouterr().out
    assert not os.path.exists(path)  # the run is as it was
    assert continued["nll"] == evaluate_run(run_dir, **settings)["nll"]


def test_a_failure_after_the_likelihood_keeps_the_complete_evaluation(
    binarized_run, monkeypatch, capsys
):
    run_dir, _ = binarized_run
    settings = dict(num_samples=5, num_examples=30, binarize="static", chunk_size=50)
    path = progress_file(run_dir, "test", "static", 5, 30, 0, 50)

    def failing(*args, **kwargs):
        raise RuntimeError("active units failed")

    monkeypatch.setattr(vae_tf.runs.evaluate, "active_units", failing)
    with pytest.raises(RuntimeError, match="active units failed"):
        evaluate_run(run_dir, save_progress=True, **settings)
    monkeypatch.undo()
    assert os.path.exists(path)  # every image's figures: nothing to score again
    capsys.readouterr()
    continued = evaluate_run(run_dir, save_progress=True, progress=True, **settings)
    assert f"Continuing from {path}: 30 of 30 images done." in capsys.readouterr().out
    assert not os.path.exists(path)
    assert continued["nll"] == evaluate_run(run_dir, **settings)["nll"]


@pytest.mark.parametrize("order", ["bottom-up", "top-down"])
def test_the_layer_report_splits_the_kl_and_counts_each_layer_s_units(order, mnist_small):
    (x, _), _ = mnist_small
    images = vae_tf.data.binarize_images(x[:40], "static")
    keras.utils.set_random_seed(0)
    if order == "bottom-up":
        model = vae_tf.HierarchicalVAE(*vae_tf.build_hierarchical_networks(3), seed=0)
    else:
        model = vae_tf.TopDownHierarchicalVAE(*vae_tf.build_top_down_networks("mlp", 3), seed=0)
    report = vae_tf.metrics.layer_report(model, images, num_samples=200, batch_size=16)
    assert report["latent_dim_per_layer"] == [model.hidden_latent_dim, 3]
    # The layers' KLs add up to the model's KL estimate over as many other draws (of an
    # untrained model: a fraction of a nat, within its Monte Carlo error).
    total = evaluate_likelihood(model, images, num_samples=200)["kl"]
    assert sum(report["kl_per_layer"]) == pytest.approx(total, rel=0.02, abs=0.03)
    # Active units: the variance over images of each layer's posterior mean.
    posterior = model.posterior(keras.ops.convert_to_tensor(images))
    hidden = keras.ops.convert_to_numpy(posterior.hidden_mean())
    top = keras.ops.convert_to_numpy(posterior.mean())
    assert hidden.shape == (40, model.hidden_latent_dim)
    assert report["active_units_per_layer"] == [
        int((hidden.var(axis=0) > 0.01).sum()),
        int((top.var(axis=0) > 0.01).sum()),
    ]
