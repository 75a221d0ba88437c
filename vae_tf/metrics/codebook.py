"""A VQ-VAE's codes measured: how its codebook is used, and the bits per dimension of its images.

- `code_counts`: how often each code is chosen over the positions of the
  code maps of some images;
- `codebook_perplexity`: `exp(H)` of that use, H its entropy in nats: K for
  codes used equally, 1 for one code; `codebook_usage`: the fraction of the
  codes chosen at least once;
- `codebook_report`: those in one pass, with the keys of evaluate.py, and
  `bits_per_dim`: the two-stage code length of each image, the
  reconstruction `-log p(x | z_q)` plus the prior's cross-entropy
  `-log p(c)` of its code map, per pixel and channel in bits. It bounds the
  image's negative log-likelihood from above (`p(x) >= p(x | z_q) p(c)`).

Example:

```python
report = codebook_report(vq_vae, x_test, num_classes=None)
report["codebook_perplexity"], report["codebook_usage"], report["bits_per_dim"]
```
"""

import math

import numpy as np
from keras import ops

from vae_tf.metrics.likelihood import bits_per_pixel
from vae_tf.metrics.likelihood import standard_error
from vae_tf.utils.checks import check_positive_int


def code_counts(indices, codebook_size):
    """How often each of the K codes appears in index maps `(N, h, w)`: `(K,)` int64.

    Example: `code_counts([[[0, 1], [1, 1]]], 3)` is `[1, 3, 0]`.
    """
    return np.bincount(np.asarray(indices).ravel(), minlength=codebook_size).astype("int64")


def codebook_perplexity(counts):
    """`exp` of the entropy (nats) of the codes' use `counts`: between 1 and K.

    Example: `codebook_perplexity([5, 5, 0, 0])` is 2.0.
    """
    counts = np.asarray(counts, "float64")
    share = counts[counts > 0] / counts.sum()
    return float(np.exp(-np.sum(share * np.log(share))))


def codebook_usage(counts):
    """The fraction of the codes used at least once in `counts`.

    Example: `codebook_usage([5, 5, 0, 0])` is 0.5.
    """
    counts = np.asarray(counts)
    return float(np.mean(counts > 0))


def _per_image(model, images, labels, batch_size):
    """`(indices (N, h, w), reconstruction (N,), prior cross-entropy (N,))`, nats."""
    maps, reconstruction, prior = [], [], []
    for start in range(0, len(images), batch_size):
        block = images[start : start + batch_size]
        block_labels = None if labels is None else labels[start : start + batch_size]
        indices = model.encode_posterior(block, block_labels).mean()
        condition = model.condition(block_labels, len(block))
        maps.append(ops.convert_to_numpy(indices))
        reconstruction.append(
            ops.convert_to_numpy(model.code_reconstruction_nll(block, indices, condition))
        )
        prior.append(-ops.convert_to_numpy(model.prior.log_prob(indices, condition)))
    return (
        np.concatenate(maps),
        np.concatenate(reconstruction).astype("float64"),
        np.concatenate(prior).astype("float64"),
    )


def codebook_report(model, images, labels=None, batch_size=500):
    """A VQ-VAE's codes on `images`: the keys of evaluate.py, in one pass of the encoder.

    Returns:
        `{"codebook_perplexity", "codebook_usage", "codes_used",
        "codebook_size", "reconstruction", "reconstruction_standard_error",
        "reconstruction_bits_per_dim", "prior_nll" (the prior's
        cross-entropy of the code maps, nats per image),
        "prior_nll_standard_error", "prior_uniform_nll" (`h w log K`, an
        untrained prior's), "bits_per_dim" (of their sum) and its
        "bits_per_dim_standard_error" (None for the "mse" likelihood),
        "num_examples"}`.
    """
    check_positive_int("batch_size", batch_size)
    indices, reconstruction, prior = _per_image(model, images, labels, batch_size)
    counts = code_counts(indices, model.codebook_size)
    total = reconstruction + prior
    nats = model.likelihood != "mse"
    return {
        "codebook_perplexity": codebook_perplexity(counts),
        "codebook_usage": codebook_usage(counts),
        "codes_used": int(np.sum(counts > 0)),
        "codebook_size": int(model.codebook_size),
        "reconstruction": float(reconstruction.mean()),
        "reconstruction_standard_error": standard_error(reconstruction),
        "reconstruction_bits_per_dim": bits_per_pixel(model, reconstruction.mean())
        if nats
        else None,
        "prior_nll": float(prior.mean()),
        "prior_nll_standard_error": standard_error(prior),
        "prior_uniform_nll": math.prod(model.code_shape) * math.log(model.codebook_size),
        # Of a density: not of the squared error's "mse" likelihood.
        "bits_per_dim": bits_per_pixel(model, total.mean()) if nats else None,
        "bits_per_dim_standard_error": bits_per_pixel(model, standard_error(total))
        if nats
        else None,
        "num_examples": int(len(total)),
    }
