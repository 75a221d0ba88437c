"""`run_variant_test`: the checks every model of the family passes, in one call.

As KerasHub's `run_backbone_test` serves its backbones, this serves the
variants of `vae_tf.models`: a new model's test builds a small instance and
hands it over, with some images (and labels, for a conditional model):

```python
def test_my_vae(tmp_path, mnist_small):
    (x, _), _ = mnist_small
    model = MyVAE(*vae_tf.build_encoder_decoder("mlp", 2), penalty=0.5, seed=0)
    run_variant_test(model, x[:64], tmp_path=tmp_path)
```

It checks, against independent computations where there are some:

1. `fit` with validation logs `loss`, `total_loss` and `<name>_loss` of every
   name in `loss_term_names` (and their `val_`), all finite, and moves the
   weights; `per_example_losses` gives each term per example.
2. The posterior: codes of `model.code_shape`; draws repeatable by seed;
   `log_prob` of the draws equals the density `sample_and_log_prob` gave
   them; a closed-form `prior.kl(posterior)` equals the Monte Carlo mean of
   `log q(z|x) - log p(z)`.
3. The importance weights: `(batch, K)`, finite, repeatable by seed, equal
   to `log p(x|z) + log p(z) - log q(z|x)` computed in numpy (a Gaussian VAE
   with Bernoulli logits), and `evaluate_likelihood`'s NLL and ELBO agree
   with them; a model without a density is refused by it with a message.
4. The `.keras` round trip (`safe_mode`): the same config, weights, codes,
   images, and the same per-example losses (the noise's state is saved);
   the same of a preset's folder (`vae_tf.presets`: the config and the
   weights alone, checked by their hash, compiled again as it trained).
5. The SavedModel: every endpoint, served in a fresh process where vae_tf
   cannot be imported, gives what the model gives in this one; the
   explorer's backends (the Keras model's and the SavedModel's) too.
6. Two replicas of `MirroredStrategy` (2 logical CPUs, in that same fresh
   process) train exactly like one device: the same history and weights
   after two epochs whose last batch the replicas share unequally, with the
   same fixed noise on every device.

The fresh process is this file run as a script (`_serve_and_mirror`).
"""

import json
import os
import subprocess
import sys

import numpy as np

from vae_tf.runs.preset_files import load_preset_model
from vae_tf.runs.preset_files import write_preset

HERE = os.path.dirname(os.path.abspath(__file__))


def run_variant_test(
    model, images, labels=None, *, tmp_path, batch_size=16, num_samples=3, mirrored=True
):
    """Runs the family's checks on `model` (see the module docstring); returns fit's history.

    Args:
        model: A built, uncompiled or compiled `vae_tf.models.LatentVariableModel`.
            Its class must be registered serializable, and its module
            importable from tests/ (the fresh process imports it).
        images: Training images `(N, H, W, C)` in [0, 1], N >= 43 (the last
            sixteen validate).
        labels: Their integer classes, for a conditional model.
        tmp_path: A folder for the files.
        batch_size: Of the fit.
        num_samples: K of the importance weights' check.
        mirrored: Whether to check two replicas against one device.
    """
    import keras

    images = np.asarray(images, "float32")
    labels = None if labels is None else np.asarray(labels)
    assert len(images) >= 43, "run_variant_test needs at least 43 images"
    assert model.conditional == (labels is not None), "labels go with a conditional model"
    history = _check_fit(model, images, labels, batch_size)
    batch, batch_labels = images[:8], None if labels is None else labels[:8]
    _check_posterior(model, batch, batch_labels)
    _check_importance_weights(model, batch, batch_labels, num_samples)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    _check_round_trip(model, keras.saving.load_model(path), batch, batch_labels)
    preset = os.path.join(tmp_path, "preset")
    write_preset(model, preset, {"description": "run_variant_test"})
    from_preset = load_preset_model(preset)
    assert from_preset.compiled == model.compiled
    if model.compiled:
        # A preset holds no optimizer state: a schedule that follows the step (the annealed
        # VAE's capacity) starts again from step 0 until the preset is trained further.
        from_preset.optimizer.iterations.assign(model.optimizer.iterations)
    _check_round_trip(model, from_preset, batch, batch_labels)
    _check_served_and_mirrored(model, path, images, labels, tmp_path, mirrored)
    return history


def _assert_close(actual, expected, atol=1e-5, rtol=1e-5, message=""):
    np.testing.assert_allclose(
        np.asarray(actual), np.asarray(expected), atol=atol, rtol=rtol, err_msg=message
    )


def _numpy(value):
    import keras

    return keras.ops.convert_to_numpy(value)


def _check_fit(model, images, labels, batch_size):
    if not model.compiled:
        model.compile(optimizer="adam", steps_per_execution=1)
    before = [weight.numpy().copy() for weight in model.trainable_weights]
    train, validation = images[:-16], images[-16:]
    if labels is None:
        history = model.fit(
            train, epochs=1, batch_size=batch_size, verbose=0, validation_data=(validation,)
        ).history
    else:
        history = model.fit(
            train,
            labels[:-16],
            epochs=1,
            batch_size=batch_size,
            verbose=0,
            validation_data=(validation, labels[-16:]),
        ).history
    names = ["loss", "total_loss", *(f"{name}_loss" for name in model.loss_term_names)]
    for name in names:
        for key in (name, f"val_{name}"):
            assert key in history, f"{key} is not logged: {sorted(history)}"
            assert np.all(np.isfinite(history[key])), f"{key}: {history[key]}"
    assert [metric.name for metric in model.metrics][: len(names)] == names
    moved = max(
        np.abs(weight.numpy() - start).max()
        for weight, start in zip(model.trainable_weights, before)
    )
    assert moved > 0, "fit did not move the weights"
    terms = model.per_example_losses(images[:8], None if labels is None else labels[:8])
    assert set(model.loss_term_names) <= set(terms), (sorted(terms), model.loss_term_names)
    for name, value in terms.items():
        assert _numpy(value).shape == (8,), f"{name}: {value.shape}"
        assert np.all(np.isfinite(_numpy(value))), name
    return history


def _check_posterior(model, images, labels):
    posterior = model.encode_posterior(images, labels)
    assert posterior.code_shape == model.code_shape
    assert tuple(_numpy(posterior.mean()).shape) == (len(images), *model.code_shape)
    draws, log_q = posterior.sample_and_log_prob(seed_or_noise=5, num_samples=4)
    again = posterior.sample(seed_or_noise=5, num_samples=4)
    other = posterior.sample(seed_or_noise=6, num_samples=4)
    _assert_close(again, draws, atol=0, rtol=0, message="the same seed drew other codes")
    codes = _numpy(posterior.code(draws))
    assert codes.shape == (len(images), 4, *model.code_shape), codes.shape
    if not posterior.has_density:
        assert log_q is None and model.kl_estimate is None
        return
    assert not np.allclose(_numpy(other), _numpy(draws)), "another seed drew the same codes"
    assert _numpy(log_q).shape == (len(images), 4)
    _assert_close(
        posterior.log_prob(draws), log_q, atol=1e-3, rtol=1e-4, message="log q of the draws"
    )
    closed_form = model.prior.kl(posterior)
    if closed_form is None:
        assert model.kl_estimate == "Monte Carlo"
        return
    assert model.kl_estimate == "closed form"
    # The closed form against the Monte Carlo mean of log q - log p over many draws.
    draws, log_q = posterior.sample_and_log_prob(seed_or_noise=7, num_samples=4096)
    estimates = _numpy(log_q - model.prior.log_prob(posterior.code(draws)))
    error = estimates.std(axis=1) / np.sqrt(estimates.shape[1])
    exact = _numpy(closed_form).reshape(len(images), -1).sum(axis=1)
    assert np.all(np.abs(estimates.mean(axis=1) - exact) < 5 * error + 1e-3), (
        estimates.mean(axis=1),
        exact,
    )


def _check_importance_weights(model, images, labels, num_samples):
    import keras
    import pytest

    from vae_tf.metrics import evaluate_likelihood

    if model.kl_estimate is None:
        with pytest.raises(ValueError, match="undefined"):
            evaluate_likelihood(model, images, labels, num_samples=2)
        return
    condition = model.condition(labels, len(images))
    images = keras.ops.convert_to_tensor(images)
    weights, reconstruction = model.log_importance_weights(
        images, 11, condition, num_samples=num_samples
    )
    again, _ = model.log_importance_weights(images, 11, condition, num_samples=num_samples)
    for value in (weights, reconstruction):
        assert _numpy(value).shape == (len(images), num_samples)
        assert np.all(np.isfinite(_numpy(value)))
    _assert_close(again, weights, atol=0, rtol=0, message="the same seed gave other weights")
    # The estimator draws block i with the stateless seed (seed, i): one block here.
    result = evaluate_likelihood(
        model, images, labels, num_samples=num_samples, seed=3, per_example=True
    )
    key = np.array([3, 0], "int32")
    weights, reconstruction = model.log_importance_weights(
        images, key, condition, num_samples=num_samples
    )
    weights, reconstruction = (
        _numpy(value).astype("float64") for value in (weights, reconstruction)
    )
    top = weights.max(axis=1)
    nll = -np.log(np.mean(np.exp(weights - top[:, None]), axis=1)) - top
    _assert_close(result["per_example_nll"], nll, atol=1e-4, message="evaluate_likelihood's NLL")
    posterior = model.posterior(images, condition)
    closed_form = model.prior.kl(posterior)
    kl = (
        -weights - reconstruction
        if closed_form is None
        else _numpy(closed_form).reshape(len(images), -1).sum(axis=1)[:, None]
    )
    elbo = reconstruction.mean(axis=1) + kl.mean(axis=1)
    _assert_close(result["per_example_elbo"], elbo, atol=1e-3, message="evaluate_likelihood's ELBO")
    _check_weights_by_hand(model, posterior, images, condition, key, num_samples, weights)


def _check_weights_by_hand(model, posterior, images, condition, key, num_samples, weights):
    """`log p(x|z) + log p(z) - log q(z|x)` in numpy, for a Gaussian VAE with Bernoulli logits."""
    import keras

    from vae_tf.models import DiagonalGaussian
    from vae_tf.models import StandardNormal

    if not (
        isinstance(posterior, DiagonalGaussian)
        and isinstance(model.prior, StandardNormal)
        and model.likelihood == "bernoulli"
        and model.decoder_output == "logits"
    ):
        return
    z = _numpy(posterior.sample(key, num_samples)).astype("float64")  # (batch, K, *code)
    mean = _numpy(posterior.mean()).astype("float64")[:, None]
    log_var = _numpy(posterior.log_variance()).astype("float64")[:, None]
    axes = tuple(range(2, z.ndim))
    log_2pi = np.log(2 * np.pi)
    log_q = -0.5 * ((z - mean) ** 2 / np.exp(log_var) + log_var + log_2pi).sum(axis=axes)
    log_p = -0.5 * (z**2 + log_2pi).sum(axis=axes)
    flat = z.reshape(-1, *model.code_shape).astype("float32")
    repeated = None if condition is None else np.repeat(_numpy(condition), num_samples, axis=0)
    x = np.repeat(_numpy(images), num_samples, axis=0).astype("float64")
    logits = model.raw_decode(flat, repeated)
    if getattr(model, "pixelcnn", None) is not None:
        # Each pixel's logit given the pixels before it (test_pixelcnn checks the head).
        logits = model.pixelcnn([keras.ops.convert_to_tensor(x, "float32"), logits])
    logits = _numpy(logits).astype("float64")
    # -log p(x|z) of Bernoulli logits: max(l, 0) - l x + log(1 + exp(-|l|)), per image.
    nll = (np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))).reshape(
        len(x), -1
    )
    expected = -nll.sum(axis=1).reshape(len(mean), num_samples) + log_p - log_q
    _assert_close(weights, expected, atol=2e-3, rtol=1e-5, message="the weights by hand")


def _check_round_trip(model, loaded, images, labels):
    assert type(loaded) is type(model)
    assert json.dumps(loaded.get_config(), sort_keys=True, default=str) == json.dumps(
        model.get_config(), sort_keys=True, default=str
    )
    assert len(loaded.weights) == len(model.weights)
    for mine, theirs in zip(model.weights, loaded.weights):
        _assert_close(theirs.numpy(), mine.numpy(), atol=0, rtol=0, message=mine.path)
    for name in ("mean", "log_variance"):
        mine = getattr(model.encode_posterior(images, labels), name)()
        theirs = getattr(loaded.encode_posterior(images, labels), name)()
        if mine is None:
            assert theirs is None
        else:
            _assert_close(theirs, mine, atol=1e-6, message=name)
    _assert_close(loaded.reconstruct(images, labels), model.reconstruct(images, labels), atol=1e-6)
    # The Sampler's state is saved: both draw the same noise next.
    mine, theirs = (
        model.per_example_losses(images, labels),
        loaded.per_example_losses(images, labels),
    )
    for name in mine:
        _assert_close(theirs[name], mine[name], atol=1e-4, rtol=1e-5, message=name)


def _check_served_and_mirrored(model, keras_path, images, labels, tmp_path, mirrored):
    from vae_tf import export_saved_model

    directory = export_saved_model(model, os.path.join(tmp_path, "saved_model"))
    batch = images[:6]
    label = None if labels is None else labels[:6].astype("int32")
    if model.code_dtype == "float32":
        z = np.random.default_rng(0).normal(size=(6, *model.code_shape)).astype("float32")
    else:  # a VQ-VAE's indices: its prior's
        z = _numpy(model.prior_codes(6, 0, label))
    arrays = dict(images=batch, z=z, mirror_images=images[:43])
    if labels is not None:
        arrays.update(labels=labels[:6].astype("int32"), mirror_labels=labels[:43])
    inputs = os.path.join(tmp_path, "inputs.npz")
    np.savez(inputs, **arrays)
    request = dict(
        saved_model=directory,
        keras=keras_path,
        inputs=inputs,
        served=os.path.join(tmp_path, "served.npz"),
        module=type(model).__module__,
        mirrored=mirrored,
    )
    with open(os.path.join(tmp_path, "request.json"), "w") as f:
        json.dump(request, f)
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__), os.path.join(tmp_path, "request.json")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=HERE,
    )
    assert result.returncode == 0 and "OK" in result.stdout, (
        result.stdout[-2000:] + result.stderr[-4000:]
    )
    served = np.load(request["served"])
    _assert_close(served["decode"], model.decode(z, label), atol=1e-6)
    np.testing.assert_array_equal(served["serving_default"], served["decode"])
    for name, value in model.encode_posterior(batch, label).parameters().items():
        _assert_close(served[f"encode_{name}"], value, atol=1e-5, message=name)
    _assert_close(served["reconstruct"], model.reconstruct(batch, label), atol=1e-5)
    np.testing.assert_array_equal(served["sample"], served["sample_again"])
    assert not np.array_equal(served["sample"], served["sample_other"])
    assert served["sample"].shape == (6, *model.image_shape)
    _assert_close(served["sample"], model.sample(6, seed=7, labels=label), atol=1e-5)
    _assert_close(served["sample_codes"], model.prior_codes(6, 7, label), atol=1e-6)
    _check_explorer_backends(model, directory, batch, label, z)


def _check_explorer_backends(model, directory, images, labels, z):
    """The explorer's two backends give the model's codes and images, of any code shape."""
    from vae_tf.explorer.backends import KerasBackend
    from vae_tf.explorer.backends import SavedModelBackend

    expected_code = _numpy(model.encode_posterior(images, labels).mean())
    for backend in (KerasBackend(model), SavedModelBackend(directory)):
        assert backend.code_shape == model.code_shape and backend.image_shape == model.image_shape
        assert backend.num_classes == model.num_classes
        _assert_close(backend.decode(z, labels), model.decode(z, labels), atol=1e-5)
        _assert_close(backend.encode(images, labels)[0], expected_code, atol=1e-5)
        three = None if labels is None else labels[:3]  # a conditional prior's classes
        assert backend.prior_codes(3, seed=1, labels=three).shape == (3, *model.code_shape)
        usage, _, codes = backend.dimension_usage(images, labels)
        assert usage.shape == model.code_shape and np.all(np.isfinite(usage))
        _assert_close(codes, expected_code, atol=1e-5)


# -- the fresh process --------------------------------------------------------


def _fixed_noise(shape, dtype="float32"):
    """Noise that every device draws alike: sin(1 + position) within an example, for any shape."""
    import tensorflow as tf

    if isinstance(shape, (tuple, list)):
        shape = tf.stack([tf.cast(size, "int32") for size in shape])
    values = tf.sin(1.0 + tf.cast(tf.range(tf.reduce_prod(shape[1:])), dtype))
    return tf.reshape(tf.tile(values[None], tf.stack([shape[0], 1])), shape)


def block_vae_tf():
    """Makes vae_tf unimportable in this process: what a SavedModel's consumer has."""
    sys.modules["vae_tf"] = None
    try:
        import vae_tf  # noqa: F401
    except ImportError:
        return
    raise SystemExit("vae_tf was importable")


def serve(loaded, images, z, labels=None, count=6, seed=7):
    """Every endpoint's answer of a loaded SavedModel, as numpy arrays by name.

    `decode`, `serving_default`, `encode_<name>` (each named tensor of the
    posterior), `reconstruct`, `sample` (`count` images, or one per label)
    and `sample_codes` (`count` codes), the last two drawn with `seed`.
    """
    import tensorflow as tf

    images, z = tf.constant(images), tf.constant(z)
    label = () if labels is None else (tf.constant(labels),)
    # "z", or a VQ-VAE's "indices".
    (code_name,) = set(loaded.signatures["decode"].structured_input_signature[1]) - {"label"}
    # A conditional VQ-VAE's prior draws the codes of given labels.
    by_label = "label" in loaded.signatures["sample_codes"].structured_input_signature[1]
    served = dict(
        decode=loaded.decode(z, *label),
        serving_default=loaded.signatures["serving_default"](
            **{code_name: z}, **({"label": label[0]} if label else {})
        )["output_0"],
        reconstruct=loaded.reconstruct(images, *label),
        sample=loaded.sample(label[0] if label else tf.constant(count), tf.constant(seed)),
        sample_codes=loaded.sample_codes(
            label[0] if by_label else tf.constant(count), tf.constant(seed)
        ),
    )
    for name, value in loaded.encode(images, *label).items():
        served[f"encode_{name}"] = value
    return {name: value.numpy() for name, value in served.items()}


def _serve(request):
    """The SavedModel's endpoints, with vae_tf unimportable: what a consumer gets."""
    import tensorflow as tf

    block_vae_tf()
    arrays = np.load(request["inputs"])
    loaded = tf.saved_model.load(request["saved_model"])
    labels = arrays["labels"] if "labels" in arrays else None
    served = serve(loaded, arrays["images"], arrays["z"], labels)
    count = tf.constant(labels) if labels is not None else tf.constant(6)
    served["sample_again"] = loaded.sample(count, tf.constant(7)).numpy()
    served["sample_other"] = loaded.sample(count, tf.constant(8)).numpy()
    np.savez(request["served"], **served)
    del sys.modules["vae_tf"]


def assert_replicas_train_like_one_device(make_model, data, batch_size, strategy):
    """Two epochs of `make_model(s)` on one device and under `strategy`: the same history and weights.

    `make_model(s)` builds and compiles the model in `s.scope()`, from the
    same start each time. `data`: arrays, or a tuple of them, for
    `tf.data.Dataset.from_tensor_slices`; choose a size that leaves a
    replica without an example in the last batch.
    """
    import tensorflow as tf

    runs = {}
    for name, each in (("one", tf.distribute.get_strategy()), ("two", strategy)):
        model = make_model(each)
        if name == "one":
            initial = [weight.numpy() for weight in model.weights]
        dataset = tf.data.Dataset.from_tensor_slices(data).batch(batch_size)
        history = model.fit(dataset, epochs=2, verbose=0).history
        runs[name] = history, [weight.numpy() for weight in model.weights]
    (history_one, weights_one), (history_two, weights_two) = runs["one"], runs["two"]
    for key, values in history_one.items():
        np.testing.assert_allclose(history_two[key], values, rtol=1e-5, err_msg=key)
    moved = max(np.abs(one - start).max() for one, start in zip(weights_one, initial))
    assert moved > 1e-6, f"training did not move the weights ({moved})"
    for one, two, weight in zip(weights_one, weights_two, model.weights):
        np.testing.assert_allclose(two, one, rtol=1e-4, atol=1e-6, err_msg=weight.path)


def _mirror(request):
    """Two replicas against one device, from the saved model, with the same fixed noise."""
    import importlib

    import keras

    import vae_tf

    importlib.import_module(request["module"])  # registers a test's own classes
    mirrored = vae_tf.distribute.make_strategy("mirrored")
    assert mirrored.num_replicas_in_sync == 2, mirrored.num_replicas_in_sync
    arrays = np.load(request["inputs"])
    data = arrays["mirror_images"]
    if "mirror_labels" in arrays:
        data = (data, arrays["mirror_labels"])

    def make_model(strategy):
        with strategy.scope():
            model = keras.saving.load_model(request["keras"])
            model.sampler.normal = _fixed_noise
            model.dataset_size = len(arrays["mirror_images"])
            # Plain SGD: a replica-count error would scale the updates (Adam would hide it).
            model.compile(optimizer=keras.optimizers.SGD(1e-4), steps_per_execution=1)
        return model

    # 4 batches of 10 and a last one of 3: the replicas get 2 and 1 examples. (An
    # empty replica is checked in test_distribute.py: oneDNN's convolutions
    # fail on an empty batch.)
    assert_replicas_train_like_one_device(make_model, data, 10, mirrored)


def _serve_and_mirror(request_path):
    import tensorflow as tf

    with open(request_path) as f:
        request = json.load(f)
    # Before TensorFlow starts: two logical CPUs for the mirrored replicas.
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    _serve(request)
    if request["mirrored"]:
        _mirror(request)
    print("OK")


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    _serve_and_mirror(sys.argv[1])
