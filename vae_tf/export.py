"""SavedModel export: what a consumer needs, with nothing but TensorFlow.

Endpoints (all float32 images in [0, 1], shape `(N, H, W, C)`):

- `decode(z)`: `z` of shape `(N, *code_shape)` (`(N, latent_dim)` for the
  VAEs) -> images. Deterministic; also the `serving_default` signature. A
  VQ-VAE's is `decode(indices)`, int32 codebook indices `(N, h, w)`: an index
  outside the codebook fails the call (InvalidArgumentError), never clipped.
- `encode(images)` -> the posterior's named tensors (`Posterior.parameters`):
  `{"z_mean": (N, *code_shape), "z_log_var": (N, *code_shape)}`
  (`{"z": (N, *code_shape)}` for a deterministic `Autoencoder`, `{"indices":
  (N, h, w)}` int32 for a VQ-VAE; for a flow
  posterior, `"z"`, the flow's image of the Gaussian's mean, beside that
  Gaussian's `"z0_mean"` and `"z0_log_var"`).
- `sample(num_samples, seed)`: int32 scalars -> images decoded from codes
  drawn from the model's prior (N(0, I), a mixture, or the VampPrior, whose
  pseudo-inputs the graph encodes); the same seed gives the same images.
- `reconstruct(images)` -> images decoded from the posterior mean.
- `sample_codes(num_samples, seed)` -> the `(N, *code_shape)` prior codes that
  `sample` decodes (for the same seed), for a consumer that moves them.

A conditional VAE's endpoints also take `label`, int32 class indices of shape
`(N,)`: `decode(z, label)`, `encode(images, label)`,
`reconstruct(images, label)`, and `sample(label, seed)`, which draws one
image per label; a conditional VQ-VAE's prior draws each label's codes, and
its `sample_codes(label, seed)` takes the labels too.

`load_saved_model(path)` loads one with messages that name a missing or
damaged file.

Example (no vae_tf import needed to consume it):

```python
loaded = tf.saved_model.load("run/saved_model")
images = loaded.decode(tf.constant([[0.0, 0.0]]))
```
"""

import os
import shutil
import tempfile

import keras
import tensorflow as tf

from vae_tf.utils.files import DamagedFileError
from vae_tf.utils.files import first_line


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def export_saved_model(model, path):
    """Writes `model` (a `vae_tf.VAE`) as a SavedModel directory at `path`.

    The directory appears complete or not at all: it is written under a
    temporary name beside `path`, then renamed.

    Raises:
        FileExistsError: if `path` already exists.
    """
    path = os.fspath(path)
    if os.path.exists(path):
        raise FileExistsError(f"{path} already exists; remove it or choose another path.")
    # A VQ-VAE's codes are its codebook indices.
    z_name = "z" if model.code_dtype == "float32" else "indices"
    z_spec = tf.TensorSpec((None, *model.code_shape), model.code_dtype, name=z_name)
    images_spec = tf.TensorSpec((None, *model.image_shape), tf.float32, name="images")
    label_spec = tf.TensorSpec((None,), tf.int32, name="label")
    seed_spec = tf.TensorSpec((), tf.int32, name="seed")
    num_samples_spec = tf.TensorSpec((), tf.int32, name="num_samples")

    # The model's prior draws the codes, statelessly: the same seed gives the
    # same images.
    prior = model.prior_codes

    def encode(images, labels=None):
        # The posterior's own named tensors: z_mean and z_log_var, or z.
        return model.encode_posterior(images, labels).parameters()

    if model.conditional:
        endpoints = {
            "decode": (model.decode, [z_spec, label_spec]),
            "encode": (encode, [images_spec, label_spec]),
            "sample": (
                lambda y, seed: model.decode(prior(tf.shape(y)[0], seed, y), y, seed=seed),
                [label_spec, seed_spec],
            ),
            "reconstruct": (model.reconstruct, [images_spec, label_spec]),
            "sample_codes": (prior, [num_samples_spec, seed_spec]),
        }
        if model.conditional_prior:
            endpoints["sample_codes"] = (
                lambda y, seed: prior(tf.shape(y)[0], seed, y),
                [label_spec, seed_spec],
            )
    else:
        endpoints = {
            "decode": (model.decode, [z_spec]),
            "encode": (encode, [images_spec]),
            "sample": (
                lambda n, seed: model.decode(prior(n, seed), seed=seed),
                [num_samples_spec, seed_spec],
            ),
            "reconstruct": (model.reconstruct, [images_spec]),
            "sample_codes": (prior, [num_samples_spec, seed_spec]),
        }
    archive = keras.export.ExportArchive()
    # The variables the endpoints use, not the whole model: a variant's
    # auxiliary networks (FactorVAE's discriminator, 5 million weights) and
    # training-only state serve no endpoint.
    auxiliary = model.auxiliary_networks()
    for name, network in model.networks.items():
        if name not in auxiliary:
            archive.track(network)
    for layer in model.served_layers:
        archive.track(layer)
    # The first endpoint, decode, becomes serving_default.
    for name, (function, signature) in endpoints.items():
        archive.add_endpoint(name, function, input_signature=signature)

    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".saved_model-", dir=parent)
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private (0700)
    try:
        archive.write_out(staging, verbose=False)
        os.rename(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def load_saved_model(path):
    """`tf.saved_model.load(path)`, with errors that say which file is missing or damaged.

    TensorFlow's own are "Cannot parse file" for a damaged saved_model.pb,
    and "Read less bytes than requested" or "not an sstable" for damaged
    variables, without the file's name.

    Raises:
        FileNotFoundError: if `path` holds no saved_model.pb.
        DamagedFileError: if saved_model.pb or the variables cannot be read.
    """
    path = os.fspath(path)
    graph = os.path.join(path, "saved_model.pb")
    if not os.path.isfile(graph):
        raise FileNotFoundError(
            f"{path} is not a SavedModel directory (no saved_model.pb): pass "
            "RUN/saved_model of a run written by scripts/train.py."
        )
    fix = "export the model again (vae_tf.export_saved_model, or train the run again)"
    try:
        return tf.saved_model.load(path)
    except (OSError, ValueError, IndexError, tf.errors.OpError) as error:
        try:
            # Parsing the graph alone tells its damage from the variables'.
            from tensorflow.core.protobuf import saved_model_pb2

            with open(graph, "rb") as f:
                saved_model_pb2.SavedModel().ParseFromString(f.read())
        except Exception:
            raise DamagedFileError(graph, "not a whole SavedModel graph", fix) from None
        raise DamagedFileError(os.path.join(path, "variables"), first_line(error), fix) from None
