"""SavedModel export: what a consumer needs, with nothing but TensorFlow.

Endpoints (all float32 images in [0, 1], shape `(N, H, W, C)`):

- `decode(z)`: `z` of shape `(N, latent_dim)` -> images. Deterministic; also
  the `serving_default` signature.
- `encode(images)` -> `{"z_mean": (N, latent_dim), "z_log_var": (N, latent_dim)}`.
- `sample(num_samples, seed)`: int32 scalars -> images decoded from
  `z ~ N(0, I)`; the same seed gives the same images.
- `reconstruct(images)` -> images decoded from the posterior mean.

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
        raise FileExistsError(
            f"{path} already exists; remove it or choose another path."
        )
    z_spec = tf.TensorSpec((None, model.latent_dim), tf.float32, name="z")
    images_spec = tf.TensorSpec((None, *model.image_shape), tf.float32, name="images")
    scalar = tf.TensorSpec((), tf.int32)

    def encode(images):
        z_mean, z_log_var = model.encode(images)
        return {"z_mean": z_mean, "z_log_var": z_log_var}

    def sample(num_samples, seed):
        z = tf.random.stateless_normal(
            tf.stack([num_samples, model.latent_dim]), seed=tf.stack([seed, 0])
        )
        return model.decode(z)

    archive = keras.export.ExportArchive()
    archive.track(model)
    # The first endpoint becomes serving_default.
    archive.add_endpoint("decode", model.decode, input_signature=[z_spec])
    archive.add_endpoint("encode", encode, input_signature=[images_spec])
    archive.add_endpoint(
        "sample",
        sample,
        input_signature=[
            tf.TensorSpec.from_spec(scalar, name="num_samples"),
            tf.TensorSpec.from_spec(scalar, name="seed"),
        ],
    )
    archive.add_endpoint("reconstruct", model.reconstruct, input_signature=[images_spec])

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
