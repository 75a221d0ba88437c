"""Estimators of a model's likelihood and of its use of the latent space.

- `evaluate_likelihood`: the test-set negative ELBO (reconstruction + KL) and
  the importance-weighted bound on the negative log-likelihood (Burda et al.,
  2015), in nats per example and bits per dimension, computed in
  memory-bounded chunks; `log_importance_weights` is its building block.
- `reconstruction_error`: the reconstruction of each image from its code,
  what a model without a density (no ELBO) reports.
- `active_units`: the latent dimensions the encoder uses; `layer_report`:
  the KL term and active units of each stochastic layer of a
  `HierarchicalVAE`.

A run directory's evaluation (its data, its binarization, sample quality,
the mutual information gap) is `vae_tf.runs.evaluate`.

Example:

```python
_, (x_test, _) = vae_tf.data.load_mnist()
result = evaluate_likelihood(vae, x_test[:1000], num_samples=1000)
print(result["elbo"], result["nll"])     # nats per example, nll <= elbo
count, variances = active_units(vae, x_test[:1000])
```
"""

import math
import signal
import time
import weakref

import numpy as np
import tensorflow as tf
from keras import ops

from vae_tf.latent import encode_means
from vae_tf.metrics.saved_progress import EvaluationProgress
from vae_tf.metrics.saved_progress import evaluation_fingerprint
from vae_tf.utils.checks import check_positive_int
from vae_tf.utils.progress import progress_bar
from vae_tf.utils.signals import SIGNAL_NAMES
from vae_tf.utils.signals import Interrupted

# Seconds between two saves of an evaluation's progress: at most this much
# work is lost to a crash (a stop by a signal saves everything done).
SAVE_SECONDS = 60


def _check_has_likelihood(model):
    if model.kl_estimate is None:
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
        # A stateless draw of the posterior's own noise: the same seed, the same codes.
        return model.log_importance_weights(images, seed, condition, num_samples=num_samples)

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


def _chunks(model, images, labels, num_samples, chunk_size, seed, first=0):
    """Yields `(start, log_weights, reconstruction, kl)` per block of examples from `first`.

    A decoder call sees at most `chunk_size` codes: blocks of
    `chunk_size // K` examples, or one example whose K draws are split over
    several calls when K > chunk_size. Call `i` (counted from the first
    example, so that a block's draws do not depend on where the loop starts)
    draws its noise with the stateless seed `(seed, i)`. `kl` is the closed
    form when the model has one, else the mean over the K draws of
    `log q(z_k|x) - log p(z_k)`. `first` is a multiple of the block size.
    """
    log_weights = _log_weights_function(model)
    block_size = max(1, chunk_size // num_samples)
    samples_per_call = max(1, min(num_samples, chunk_size // block_size))
    # The first draw of each call of a block: every block makes as many calls.
    call_starts = range(0, num_samples, samples_per_call)
    calls = first // block_size * len(call_starts)
    for start in range(first, len(images), block_size):
        block = tf.convert_to_tensor(images[start : start + block_size])
        block_labels = None if labels is None else labels[start : start + block_size]
        condition = model.condition(block_labels, len(block))
        parts = []
        for done in call_starts:
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
        closed_form = model.prior.kl(model.posterior(block, condition))
        if closed_form is not None:
            # Summed over every axis of the code: (d,) or (h, w, c).
            kl = ops.convert_to_numpy(closed_form).reshape(len(block), -1).sum(axis=1)
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


def _score(model, images, labels, num_samples, chunk_size, seed, figures, first, saved, progress):
    """Fills `figures[name][first:]` block by block, saving them in `saved` as they come."""
    # The bar counts the images left, so that its time left is theirs.
    bar = progress_bar(len(images) - first, "image") if progress and first < len(images) else None
    done = first
    last_save = time.monotonic()
    try:
        for start, log_weights, reconstruction, kl in _chunks(
            model, images, labels, num_samples, chunk_size, seed, first=first
        ):
            stop = start + len(log_weights)
            figures["nll"][start:stop] = math.log(num_samples) - np.logaddexp.reduce(
                log_weights.astype("float64"), axis=1
            )
            figures["reconstruction"][start:stop] = reconstruction.mean(axis=1)
            figures["kl"][start:stop] = kl
            done = stop  # after the block is whole: a stop may come at any line
            if bar is not None:
                bar.update(done - first, [("nll", float(figures["nll"][:done].mean()))])
            if saved is not None and time.monotonic() - last_save > SAVE_SECONDS:
                saved.save(done, figures)
                last_save = time.monotonic()
    except KeyboardInterrupt as interrupt:
        if saved is None or done == 0:
            raise
        saved.save(done, figures)
        number = getattr(interrupt, "signal_number", signal.SIGINT)
        raise Interrupted(
            f"{SIGNAL_NAMES[number]} after {done:,} of {len(images):,} images: their figures "
            f"are saved in {saved.path}; evaluate again with the same settings to continue "
            "from there.",
            number,
        ) from interrupt


def evaluate_likelihood(
    model,
    images,
    labels=None,
    num_samples=1000,
    seed=0,
    chunk_size=2048,
    per_example=False,
    progress=False,
    progress_file=None,
    keep_progress=False,
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
        progress_file: A `.npz` file that keeps the per-image figures done
            so far (written every minute and when stopped by Ctrl-C, or by
            SIGTERM where it raises KeyboardInterrupt as in the scripts:
            `vae_tf.utils.signals.sigterm_as_interrupt`;
            `vae_tf.metrics.saved_progress`). A call with the same
            model, images and settings continues from it, with the result
            of an uninterrupted call; it is removed once the evaluation is
            complete. None: nothing is saved.
        keep_progress: Keep the file, complete, instead: for a caller with
            more to compute, who removes it once that is done too (a failure
            there then loses none of this evaluation).

    Returns:
        A dict with positive nats per example: `elbo`, `reconstruction`,
        `kl`, `nll`; `nll_bits_per_dim` and `elbo_bits_per_dim`
        (nats / (pixels * ln 2)); `nll_standard_error` (over examples); `k`
        and `num_examples`. With `per_example`, also `per_example_nll`,
        `per_example_elbo` arrays.
    """
    images, labels = _checked_inputs(model, images, labels, num_samples, chunk_size)
    figures = {name: np.empty(len(images)) for name in ("nll", "reconstruction", "kl")}
    saved = None
    if progress_file is not None:
        fingerprint = evaluation_fingerprint(
            model, images, labels, num_samples=num_samples, seed=seed, chunk_size=chunk_size
        )
        saved = EvaluationProgress(progress_file, fingerprint)
    first = saved.load(figures) if saved is not None else 0
    if first and progress:
        print(f"Continuing from {progress_file}: {first:,} of {len(images):,} images done.")
    _score(model, images, labels, num_samples, chunk_size, seed, figures, first, saved, progress)
    if saved is not None and keep_progress:
        saved.save(len(images), figures)
    elif saved is not None:
        saved.remove()
    nll, reconstruction, kl = figures["nll"], figures["reconstruction"], figures["kl"]
    elbo = reconstruction + kl
    result = {
        "elbo": float(elbo.mean()),
        "reconstruction": float(reconstruction.mean()),
        "kl": float(kl.mean()),
        "nll": float(nll.mean()),
        "elbo_bits_per_dim": bits_per_pixel(model, elbo.mean()),
        "nll_bits_per_dim": bits_per_pixel(model, nll.mean()),
        "nll_standard_error": standard_error(nll),
        "k": int(num_samples),
        "num_examples": int(len(images)),
    }
    if per_example:
        result["per_example_nll"] = nll
        result["per_example_elbo"] = elbo
    return result


def reconstruction_error(model, images, labels=None, batch_size=500):
    """How well each image comes back from its code: what a model without a density reports.

    An `Autoencoder`, a WAE or a VQ-VAE has no posterior density, so no ELBO
    nor likelihood; its reconstruction is `-log p(x | z)` with z the code
    that `encode` gives (the posterior's mean), in nats per example (the sum
    of squared errors for the `"mse"` likelihood). For a VAE the same figure
    is the reconstruction of its mean code, not the ELBO's average over draws.

    Returns:
        `{"reconstruction", "reconstruction_standard_error",
        "reconstruction_bits_per_dim" (None for "mse"), "num_examples"}`.

    Example:

    ```python
    reconstruction_error(autoencoder, x_test[:1000])["reconstruction"]   # nats per image
    ```
    """
    check_positive_int("batch_size", batch_size)
    figures = []
    for start in range(0, len(images), batch_size):
        block = images[start : start + batch_size]
        block_labels = None if labels is None else labels[start : start + batch_size]
        code = model.encode_posterior(block, block_labels).mean()
        condition = model.condition(block_labels, len(block))
        figures.append(ops.convert_to_numpy(model.code_reconstruction_nll(block, code, condition)))
    values = np.concatenate(figures).astype("float64")
    return {
        "reconstruction": float(values.mean()),
        "reconstruction_standard_error": standard_error(values),
        "reconstruction_bits_per_dim": bits_per_pixel(model, values.mean())
        if model.likelihood != "mse"
        else None,
        "num_examples": int(len(values)),
    }


def bits_per_pixel(model, nats):
    """Nats per image as bits per pixel and channel: `nats / (pixels * ln 2)`.

    Example: `bits_per_pixel(model, 80.0)` is 0.147 for 28x28x1 images.
    """
    return float(nats / (math.prod(model.image_shape) * math.log(2.0)))


def standard_error(values):
    """The standard error of the mean of per-image figures (NaN for one image).

    Example: `standard_error(np.array([1.0, 3.0]))` is 1.0.
    """
    return float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")


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
    """Per stochastic layer of a two-layer model: its KL term and its active units.

    The KL of each layer is the Monte Carlo estimate of
    `E_q[log q(z_l | .) - log p(z_l | .)]` (z1 against `p(z1|z2)`, z2 against
    the prior) over `num_samples` draws per image; the active units are
    counted on the posterior means (`hidden_mean` and `mean`): `E[z1|x]` and
    `E[z2 | E[z1|x]]` bottom-up (`HierarchicalVAE`), `E[z1 | x, E[z2|x]]` and
    `E[z2|x]` top-down (`TopDownHierarchicalVAE`).

    Returns:
        `{"kl_per_layer": [z1, z2], "active_units_per_layer": [z1, z2],
        "latent_dim_per_layer": [z1, z2]}`.
    """
    kl = []
    for start in range(0, len(images), batch_size):
        block = tf.convert_to_tensor(images[start : start + batch_size])
        _, log_posterior, log_prior = model.importance_terms(
            block, tf.constant([seed, start], tf.int32), num_samples=num_samples
        )
        kl.append(ops.convert_to_numpy(ops.mean(log_posterior - log_prior, axis=1)))
    hidden_means = np.concatenate(
        [
            # The two-layer posterior's first layer, q(z1|x).
            ops.convert_to_numpy(
                model.posterior(
                    tf.convert_to_tensor(images[start : start + batch_size])
                ).hidden_mean()
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
