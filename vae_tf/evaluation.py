"""Measures of a trained VAE.

- `evaluate_likelihood`: the test-set negative ELBO (reconstruction + KL) and
  the importance-weighted bound on the negative log-likelihood (Burda et al.,
  2015), in nats per example and bits per dimension, computed in
  memory-bounded chunks; `log_importance_weights` is its building block.
- `evaluate_run`: the same for a run directory, with the active units (and
  the mutual information gap on data with known factors, `disentanglement_run`).
- `sample_quality_run`: FID, precision and recall of a run's samples (and
  its conditional accuracy), judged by the cached classifier of its dataset
  (`vae_tf.metrics.judge`); `conditional_accuracy` is
  `vae_tf.metrics.generation`'s.

Example:

```python
_, (x_test, _) = vae_tf.data.load_mnist()
result = evaluate_likelihood(vae, x_test[:1000], num_samples=1000)
print(result["elbo"], result["nll"])     # nats per example, nll <= elbo

quality = sample_quality_run("runs/conv_latent2")  # the judge trains once (30 s), then is cached
quality["fid"], quality["precision"], quality["recall"]
```
"""

import math
import os
import time
import weakref

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from vae_tf import data
from vae_tf._checks import check_positive_int
from vae_tf._files import write_json  # noqa: F401  (public: results as JSON)
from vae_tf.latent import encode_means
from vae_tf.metrics.disentanglement import mutual_information_gap
from vae_tf.metrics.generation import compare_features
from vae_tf.metrics.generation import conditional_accuracy  # noqa: F401  (public here too)
from vae_tf.metrics.generation import sample_quality
from vae_tf.metrics.judge import load_judge
from vae_tf.progress import progress_bar
from vae_tf.runs.artifacts import CONFIG_FILE
from vae_tf.runs.artifacts import load_run
from vae_tf.runs.artifacts import read_config
from vae_tf.runs.run_data import data_source
from vae_tf.runs.run_data import split_images


def _check_has_likelihood(model):
    if not model.variational:
        raise ValueError(
            "An Autoencoder has no posterior q(z|x) and no prior: its ELBO and "
            "log-likelihood are undefined. Evaluate a VAE."
        )
    if model.likelihood == "mse":
        raise ValueError(
            "This model was trained on the 'mse' objective, which is not a "
            "log-likelihood, so its ELBO and NLL in nats are undefined. Train with "
            "likelihood='bernoulli' (or a Gaussian one) to measure them."
        )


# model -> its compiled log-weight function: traced once per model, however
# many sets, blocks and values of K it evaluates.
_COMPILED = weakref.WeakKeyDictionary()


def _log_weights_function(model):
    """The compiled `(images, condition, num_samples, seed) -> (log w, reconstruction)`."""
    if model in _COMPILED:
        return _COMPILED[model]

    def log_weights(images, condition, num_samples, seed):
        epsilon = tf.random.stateless_normal(
            tf.stack([tf.shape(images)[0], num_samples, model.noise_dim]), seed=seed
        )
        return model.log_importance_weights(images, epsilon, condition)

    # The number of examples is left free, so a set's last, smaller block
    # reuses the graph.
    images = tf.TensorSpec((None, *model.image_shape), tf.float32)
    count = tf.TensorSpec((), tf.int32)
    seed = tf.TensorSpec((2,), tf.int32)
    if model.conditional:
        condition = tf.TensorSpec((None, model.num_classes), tf.float32)
        function = tf.function(log_weights, input_signature=[images, condition, count, seed])
    else:
        plain = tf.function(
            lambda images, num_samples, seed: log_weights(images, None, num_samples, seed),
            input_signature=[images, count, seed],
        )

        def function(images, condition, *rest):
            return plain(images, *rest)

    _COMPILED[model] = function
    return function


def _chunks(model, images, labels, num_samples, chunk_size, seed):
    """Yields `(start, log_weights, reconstruction, kl)` per block of examples.

    A decoder call sees at most `chunk_size` codes: blocks of
    `chunk_size // K` examples, or one example whose K draws are split over
    several calls when K > chunk_size. Call `i` draws its noise with the
    stateless seed `(seed, i)`. `kl` is the closed form when the model has
    one, else the mean over the K draws of `log q(z_k|x) - log p(z_k)`.
    """
    log_weights = _log_weights_function(model)
    examples_per_block = max(1, chunk_size // num_samples)
    samples_per_call = max(1, min(num_samples, chunk_size // examples_per_block))
    calls = 0
    for start in range(0, len(images), examples_per_block):
        block = tf.convert_to_tensor(images[start : start + examples_per_block])
        block_labels = None if labels is None else labels[start : start + examples_per_block]
        condition = model.condition(block_labels, len(block))
        parts = []
        for done in range(0, num_samples, samples_per_call):
            parts.append(
                log_weights(
                    block,
                    condition,
                    tf.constant(min(samples_per_call, num_samples - done)),
                    tf.constant([seed, calls], tf.int32),
                )
            )
            calls += 1
        weights = np.concatenate([ops.convert_to_numpy(part[0]) for part in parts], axis=1)
        reconstruction = np.concatenate([ops.convert_to_numpy(part[1]) for part in parts], axis=1)
        if model.closed_form_kl:
            kl = ops.sum(model.kl_per_dimension(*model.posterior(block, condition)), axis=-1)
            kl = ops.convert_to_numpy(kl)
        else:
            kl = np.mean(-weights - reconstruction, axis=1)
        yield start, weights, reconstruction, kl


def log_importance_weights(model, images, labels=None, num_samples=1, seed=0, chunk_size=2048):
    """`log p(x, z_k) - log q(z_k|x)` for `num_samples` draws `z_k ~ q(z|x)` per image.

    Args:
        model: A `vae_tf.VAE` with a Bernoulli or Gaussian likelihood.
        images: Images in [0, 1], shape `(N, H, W, C)`.
        labels: Classes of the images, for a conditional VAE only (then
            everything is conditioned on them: `log p(x|y)`).
        num_samples: K, draws per image.
        seed: Seed of the draws.
        chunk_size: Most codes decoded in one call (bounds memory).

    Returns:
        Float32 array `(N, K)`, in nats. `logsumexp(w, axis=1) - log K` is
        the importance-weighted lower bound on `log p(x)`; the mean of a
        single weight is the ELBO.
    """
    images, labels = _checked_inputs(model, images, labels, num_samples, chunk_size)
    return np.concatenate(
        [
            weights
            for _, weights, _, _ in _chunks(model, images, labels, num_samples, chunk_size, seed)
        ]
    )


def _checked_inputs(model, images, labels, num_samples, chunk_size):
    _check_has_likelihood(model)
    check_positive_int("num_samples", num_samples)
    check_positive_int("chunk_size", chunk_size)
    # The model's own checks: image shape and range, labels when conditional
    # (labels given to a plain VAE are refused by its first encoding).
    return model.check_inputs(np.asarray(images, "float32"), labels, "images")


def evaluate_likelihood(
    model,
    images,
    labels=None,
    num_samples=1000,
    seed=0,
    chunk_size=2048,
    per_example=False,
    progress=False,
):
    """Test negative ELBO and importance-weighted negative log-likelihood.

    For each image, K = `num_samples` codes are drawn from `q(z|x)`:

    - `reconstruction`: `-log p(x|z)` averaged over the K draws; `kl`: the
      closed-form `KL(q(z|x) || p(z))` against the model's prior (N(0, I)),
      or for a prior without one (a mixture, the VampPrior) the mean over
      the K draws of `log q(z_k|x) - log p(z_k)`; `elbo` = reconstruction +
      kl, the negative ELBO.
    - `nll`: `-(logsumexp_k log w_k - log K)` with
      `w_k = p(x|z_k) p(z_k) / q(z_k|x)`, the importance-weighted bound of
      Burda et al. (2015): an upper bound on `-log p(x)` that tightens as K
      grows (K=1 is the ELBO in expectation).

    Args:
        model: A `vae_tf.VAE` with a Bernoulli or Gaussian likelihood.
        images: Images in [0, 1], shape `(N, H, W, C)`; binarize them first
            (`vae_tf.data.binarize_images`) to compare with the binarized-MNIST
            literature.
        labels: Classes, for a conditional VAE only.
        num_samples: K (>= 1); 5000 in Burda et al., 1000 is common.
        seed: Seed of the draws.
        chunk_size: Most codes decoded at once: memory grows with it, not
            with K or N.
        per_example: Also return the per-example arrays.
        progress: Show a progress bar (images done, the NLL so far, time
            left).

    Returns:
        A dict with positive nats per example: `elbo`, `reconstruction`,
        `kl`, `nll`; `nll_bits_per_dim` and `elbo_bits_per_dim`
        (nats / (pixels * ln 2)); `nll_standard_error` (over examples); `k`
        and `num_examples`. With `per_example`, also `per_example_nll`,
        `per_example_elbo` arrays.
    """
    images, labels = _checked_inputs(model, images, labels, num_samples, chunk_size)
    nll = np.empty(len(images))
    reconstruction = np.empty(len(images))
    kl = np.empty(len(images))
    bar = progress_bar(len(images), "image") if progress else None
    for start, log_weights, block_reconstruction, block_kl in _chunks(
        model, images, labels, num_samples, chunk_size, seed
    ):
        stop = start + len(log_weights)
        log_weights = log_weights.astype("float64")
        nll[start:stop] = math.log(num_samples) - np.logaddexp.reduce(log_weights, axis=1)
        reconstruction[start:stop] = block_reconstruction.mean(axis=1)
        kl[start:stop] = block_kl
        if bar is not None:
            bar.update(stop, [("nll", float(nll[:stop].mean()))])
    elbo = reconstruction + kl
    dimensions = math.prod(model.image_shape) * math.log(2.0)
    result = {
        "elbo": float(elbo.mean()),
        "reconstruction": float(reconstruction.mean()),
        "kl": float(kl.mean()),
        "nll": float(nll.mean()),
        "elbo_bits_per_dim": float(elbo.mean() / dimensions),
        "nll_bits_per_dim": float(nll.mean() / dimensions),
        "nll_standard_error": float(nll.std(ddof=1) / math.sqrt(len(nll)))
        if len(nll) > 1
        else float("nan"),
        "k": int(num_samples),
        "num_examples": int(len(images)),
    }
    if per_example:
        result["per_example_nll"] = nll
        result["per_example_elbo"] = elbo
    return result


def active_units(model, images, labels=None, threshold=0.01):
    """Latent dimensions the encoder uses (Burda et al., 2015).

    A dimension is active when its posterior mean varies across the data:
    `Var_x(E[z_j | x]) > threshold`. Inactive dimensions have collapsed to
    the prior, whatever the input.

    Returns:
        `(count, per-dimension variances)`.
    """
    variances = encode_means(model, images, labels).var(axis=0)
    return int(np.sum(variances > threshold)), variances


def layer_report(model, images, num_samples=100, seed=0, batch_size=100):
    """Per stochastic layer of a `HierarchicalVAE`: its KL term and its active units.

    The KL of each layer is the Monte Carlo estimate of
    `E_q[log q(z_l | .) - log p(z_l | .)]` (z1 against `p(z1|z2)`, z2 against
    the prior) over `num_samples` draws per image; the active units are
    counted on the posterior means, `E[z1|x]` and `E[z2 | E[z1|x]]`.

    Returns:
        `{"kl_per_layer": [z1, z2], "active_units_per_layer": [z1, z2],
        "latent_dim_per_layer": [z1, z2]}`.
    """
    kl = []
    for start in range(0, len(images), batch_size):
        block = tf.convert_to_tensor(images[start : start + batch_size])
        epsilon = tf.random.stateless_normal(
            (len(block), num_samples, model.noise_dim), seed=[seed, start]
        )
        _, log_posterior, log_prior = model.importance_terms(block, epsilon)
        kl.append(ops.convert_to_numpy(ops.mean(log_posterior - log_prior, axis=1)))
    hidden_means = np.concatenate(
        [
            ops.convert_to_numpy(
                model.hidden_posterior(tf.convert_to_tensor(images[start : start + batch_size]))[0]
            )
            for start in range(0, len(images), batch_size)
        ]
    )
    return {
        "kl_per_layer": [float(value) for value in np.concatenate(kl).mean(axis=0)],
        "active_units_per_layer": [
            int(np.sum(hidden_means.var(axis=0) > 0.01)),
            active_units(model, images)[0],
        ],
        "latent_dim_per_layer": [model.hidden_latent_dim, model.latent_dim],
    }


def run_binarization(run_dir):
    """`"dynamic"` if the run in `run_dir` trained on binarized images, else `"none"`."""
    if not os.path.isfile(os.path.join(run_dir, CONFIG_FILE)):
        return "none"
    return "dynamic" if read_config(run_dir).binarize else "none"


def evaluate_run(
    run_dir,
    num_samples=1000,
    num_examples=1000,
    split="test",
    binarize="auto",
    seed=0,
    chunk_size=2048,
    arrays=None,
    progress=False,
):
    """`evaluate_likelihood` of a run directory's model on its data (MNIST, ..., a folder).

    Args:
        run_dir: A run directory written by `vae_tf.train`.
        num_samples: K importance samples per image.
        num_examples: The first `num_examples` images of the split (at most
            all of them).
        split: `"test"` or `"train"`.
        binarize: `"auto"` (dynamic when the run trained on binarized images,
            else none), or one of `vae_tf.data.BINARIZATIONS`.
        seed: Seed of the binarization and of the draws.
        chunk_size: Most codes decoded at once.
        arrays: The run's dataset as `load_dataset()` returns it, if already
            loaded.
        progress: Show the progress of the importance sampling.

    Returns:
        `evaluate_likelihood`'s dict, plus `kl_estimate` ("closed form" or
        "Monte Carlo"), `prior` (its notation), the `layer_report` of a
        model with two stochastic layers, `active_units`, `latent_dim`,
        `conditional` (then the figures bound `-log p(x | label)`), `split`,
        `binarize`, `run_dir` and `seconds`; for data with known factors,
        `disentanglement_run`'s `mig`, `mig_per_factor` and
        `mig_best_dimensions`.
    """
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train'; got {split!r}.")
    if binarize == "auto":
        binarize = run_binarization(run_dir)
    if binarize not in data.BINARIZATIONS:
        raise ValueError(
            f"binarize must be 'auto' or one of {data.BINARIZATIONS}; got {binarize!r}."
        )
    check_positive_int("num_examples", num_examples)
    model = load_run(run_dir).model  # first: it names a folder that is not a run
    config = read_config(run_dir)
    images, labels = split_images(config, split, num_examples, arrays)
    images = data.binarize_images(images[:num_examples], binarize, seed)
    labels = labels[:num_examples] if model.conditional else None
    start = time.perf_counter()
    result = evaluate_likelihood(
        model,
        images,
        labels,
        num_samples=num_samples,
        seed=seed,
        chunk_size=chunk_size,
        progress=progress,
    )
    layers = layer_report(model, images, seed=seed) if model.stochastic_layers > 1 else {}
    source = data_source(config)
    factors = _gap_of_codes(model, config, source, split, arrays) if source.factors else {}
    return {
        **result,
        **layers,
        **factors,
        "kl_estimate": "closed form" if model.closed_form_kl else "Monte Carlo",
        "prior": model.prior.notation,
        "active_units": active_units(model, images, labels)[0],
        "latent_dim": model.latent_dim,
        "conditional": model.conditional,
        "split": split,
        "binarize": binarize,
        "run_dir": os.path.abspath(run_dir),
        "seconds": time.perf_counter() - start,
    }


def sample_quality_run(
    run_dir,
    num_examples=10000,
    split="test",
    seed=0,
    judge_epochs=3,
    cache_dir=None,
    arrays=None,
    progress=False,
    log=print,
):
    """FID, precision and recall of a run's samples against its real images.

    The judge is the classifier of the run's dataset (`load_judge`: trained
    on its training images the first time, then read from the cache). As
    many samples are drawn from the prior as real images are compared. The
    same figures between the training images and the compared ones
    (`real_fid`, `real_precision`, `real_recall`) say what two sets of real
    images score: the best a model can hope for at this count.

    Args:
        run_dir: A run directory written by `vae_tf.train`.
        num_examples: Real images compared (the first ones of the split,
            at most all of them) and samples drawn.
        split: `"test"` (held-out images) or `"train"`.
        seed: Seed of the samples.
        judge_epochs: Epochs of the judge's training (its cache key).
        cache_dir: Folder of the cached judges (see `judge_cache_dir`).
        arrays: The run's dataset as `load_dataset()` returns it, if loaded.
        progress: Show the progress of generation.
        log: Called with a line when the judge is trained (None: silent).

    Returns:
        `sample_quality`'s dict (`fid`, `precision`, `recall`,
        `num_images`, `precision_recall_k`, and `conditional_accuracy` when conditional), plus
        `real_fid`, `real_precision`, `real_recall` (None for a folder
        without held-out images), `judge_accuracy` (on held-out images),
        `judge_dir`, `judge_cached` and `sample_quality_seconds`.

    Raises:
        vae_tf.metrics.judge.NoJudgeError: for unlabelled data.
    """
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train'; got {split!r}.")
    check_positive_int("num_examples", num_examples)
    config = read_config(run_dir)
    model = load_run(run_dir).model
    if not model.variational:
        raise ValueError("An Autoencoder has no prior to sample from: evaluate a VAE's samples.")
    start = time.perf_counter()
    source = data_source(config)
    judge = load_judge(
        source, judge_epochs, seed=0, cache_dir=cache_dir, log=log, verbose=2 if progress else 0
    )
    if arrays is None and source.folder is None:
        arrays = source.load()  # once, for the compared images and the reference ones
    images, labels = split_images(config, split, num_examples, arrays)
    features = judge.features(images)
    result = sample_quality(
        model,
        judge,
        images,
        labels,
        seed=seed,
        progress=progress,
        real_features=features,
    )
    other = "train" if split == "test" else "test"
    held_out = source.folder is None or len(source.folder.paths("validation")) > 0
    if held_out:
        reference, _ = split_images(config, other, len(images), arrays)
        real = compare_features(features, judge.features(reference[: len(images)]))
    else:  # a folder without held-out images: "test" is the training images
        real = dict.fromkeys(("fid", "precision", "recall"))
    return {
        **result,
        **{f"real_{key}": value for key, value in real.items()},
        "judge_accuracy": judge.test_accuracy,
        "judge_dir": judge.path,
        "judge_cached": judge.info["cached"],
        "sample_quality_seconds": time.perf_counter() - start,
    }


def disentanglement_run(run_dir, split="test", arrays=None, bins=20):
    """The mutual information gap of a run's codes, on data with known factors (`shapes`).

    Every image of the split is encoded (its posterior mean) and compared
    with its factors (`vae_tf.metrics.disentanglement`).

    Returns:
        `{"mig", "mig_per_factor": {factor: gap}, "mig_best_dimensions":
        {factor: dimension}}`.

    Raises:
        ValueError: when the run's data has no known factors.
    """
    config = read_config(run_dir)
    source = data_source(config)
    if source.factors is None:
        raise ValueError(
            f"{source.name} has no known factors of variation: the mutual information gap "
            "needs a dataset that has them (--dataset=shapes)."
        )
    return _gap_of_codes(load_run(run_dir).model, config, source, split, arrays, bins)


def _gap_of_codes(model, config, source, split, arrays, bins=20):
    """`disentanglement_run`'s figures for a `model` already loaded."""
    images, labels = split_images(config, split, None, arrays)
    codes = encode_means(model, images, labels if model.conditional else None)
    result = mutual_information_gap(codes, source.factors(split), bins, source.factor_names)
    names = result["factor_names"]
    return {
        "mig": result["mig"],
        "mig_per_factor": dict(zip(names, map(float, result["gaps"]))),
        "mig_best_dimensions": dict(zip(names, map(int, result["best_dimensions"]))),
    }
