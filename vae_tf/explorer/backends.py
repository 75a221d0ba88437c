"""What the explorer asks of a model, from a trained Keras model or from a SavedModel.

Both backends give numpy arrays: `decode(z, labels)` -> images in [0, 1],
`encode(images, labels)` -> `(z_mean, z_log_var or None)`,
`prior_codes(count, seed, labels)` -> codes (the labels only for a prior that
draws each class's codes, a conditional VQ-VAE's), and
`dimension_usage(images, labels)` -> `(usage per dimension, its name, the
codes)`, as `vae_tf.latent.dimension_usage`. A VQ-VAE's codes are int32 maps
of codebook indices (`code_dtype`; `codebook_shape`, K codes of D numbers,
None for float codes).
`SavedModelBackend` calls nothing but the SavedModel's endpoints
(`tf.saved_model.load`), as a consumer without vae_tf's model classes would,
and reads the size of a VQ-VAE's codebook from its variable.

Example:

```python
backend = KerasBackend(load_run("runs/conv_latent2_...").model)
backend = SavedModelBackend("runs/conv_latent2_.../saved_model")
images = backend.decode(np.zeros((1, backend.latent_dim), "float32"))
```
"""

import keras
import numpy as np
import tensorflow as tf

from vae_tf import latent
from vae_tf.export import load_saved_model
from vae_tf.losses import gaussian_kl_per_dimension


def _labels_tensor(labels, count):
    return tf.constant(np.broadcast_to(np.asarray(labels, "int32"), (count,)))


class KerasBackend:
    """A `vae_tf` model (VAE, conditional VAE, two layers, Autoencoder) behind the explorer.

    Decoding runs as one traced TensorFlow function, as the SavedModel does:
    a single code decodes in a few milliseconds instead of the tens an eager
    call of the Keras model takes.
    """

    description = "Keras model"

    def __init__(self, model):
        self.model = model
        self.code_shape = tuple(int(size) for size in model.code_shape)
        self.code_dtype = model.code_dtype
        self.codebook_shape = None
        if model.discrete_codes:  # a VQ-VAE's; its latent_dim is the size of a code vector
            self.codebook_shape = (int(model.codebook_size), int(model.latent_dim))
        self.latent_dim = int(model.latent_dim)
        self.image_shape = tuple(int(size) for size in model.image_shape)
        self.num_classes = model.num_classes if model.conditional else None
        self.prior_name = model.prior.notation
        z_spec = tf.TensorSpec((None, *self.code_shape), self.code_dtype)
        if self.num_classes:
            self._decode = tf.function(
                lambda z, y: model.decode(z, y),
                input_signature=[z_spec, tf.TensorSpec((None,), tf.int32)],
            )
        else:
            self._decode = tf.function(lambda z: model.decode(z), input_signature=[z_spec])

    def decode(self, z, labels=None):
        z = tf.constant(np.asarray(z, self.code_dtype))
        args = [z] if not self.num_classes else [z, _labels_tensor(labels, len(z))]
        return self._decode(*args).numpy().astype("float32")

    def encode(self, images, labels=None):
        return latent.encode_batches(self.model, images, labels)

    def prior_codes(self, count, seed=0, labels=None):
        """`count` codes from the prior; `labels` (one or `count` classes) if it draws by class."""
        if labels is not None and self.model.conditional_prior:
            labels = np.broadcast_to(np.asarray(labels, "int32"), (count,))
        return latent.prior_codes(self.model, count, seed, labels)

    def dimension_usage(self, images, labels=None):
        return latent.dimension_usage(self.model, images, labels)


class SavedModelBackend:
    """A SavedModel written by `vae_tf.export_saved_model`, used through its endpoints only.

    Prior codes come from its `sample_codes` endpoint; SavedModels exported
    before it existed draw them from N(0, I), and `prior_name` says so.
    """

    description = "SavedModel"

    def __init__(self, path):
        self.loaded = load_saved_model(path)
        missing = [name for name in ("decode", "encode") if name not in self.loaded.signatures]
        if missing:
            raise ValueError(
                f"{path} lacks the endpoint(s) {missing}: export the model with "
                "vae_tf.export_saved_model."
            )
        decode_inputs = self.loaded.signatures["decode"].structured_input_signature[1]
        encode_inputs = self.loaded.signatures["encode"].structured_input_signature[1]
        # A VQ-VAE's codes are its codebook indices.
        code_spec = decode_inputs["z"] if "z" in decode_inputs else decode_inputs["indices"]
        self.code_shape = tuple(int(size) for size in code_spec.shape[1:])
        self.code_dtype = code_spec.dtype.name
        self.image_shape = tuple(int(size) for size in encode_inputs["images"].shape[1:])
        self.num_classes = self._count_classes() if "label" in decode_inputs else None
        self.codebook_shape = None if self.code_dtype == "float32" else self._codebook_shape(path)
        # A VQ-VAE's: the size of its code vectors, as its model's latent_dim.
        self.latent_dim = (
            self.code_shape[-1] if self.codebook_shape is None else self.codebook_shape[1]
        )
        self.has_prior = "sample_codes" in self.loaded.signatures
        # A conditional VQ-VAE's prior draws each class's codes: sample_codes(label, seed).
        self.prior_takes_labels = self.has_prior and (
            "label" in self.loaded.signatures["sample_codes"].structured_input_signature[1]
        )
        # A flow posterior's encode gives its code beside the Gaussian's z0_mean.
        self.flow = "z0_mean" in self.loaded.signatures["encode"].structured_outputs
        self.prior_name = "the model's prior" if self.has_prior else "Normal(0, I), assumed"

    def _count_classes(self, most=1024):
        # The signatures hold no class count, but the decoder's one-hot input
        # does: a label past the last class one-hots to zeros, so the first
        # label that decodes like an out-of-range one is the count.
        labels = np.append(np.arange(most + 1), 10 * most).astype("int32")
        z = tf.zeros((len(labels), *self.code_shape), self.code_dtype)
        images = self.loaded.decode(z, tf.constant(labels)).numpy()
        same = np.all(images == images[-1], axis=tuple(range(1, images.ndim)))
        if not same[:-1].any():
            raise ValueError(f"This conditional SavedModel has more than {most} classes.")
        return int(np.argmax(same))

    def _codebook_shape(self, path):
        # The signatures give no codebook size, and probing decode past it
        # would print TensorFlow's C++ error line each time (the graph asserts
        # the range): read the codebook's (K, D) from its variable.
        shapes = {
            tuple(variable.shape)
            for variable in self.loaded.variables
            if variable.name.split("/")[-1].startswith("codebook:") and variable.shape.rank == 2
        }
        if len(shapes) != 1:
            raise ValueError(
                f"{path} takes codebook indices but holds no single codebook variable: export "
                "the model with vae_tf.export_saved_model."
            )
        return tuple(int(size) for size in shapes.pop())

    def decode(self, z, labels=None):
        z = tf.constant(np.asarray(z, self.code_dtype))
        if self.num_classes:
            return self.loaded.decode(z, _labels_tensor(labels, len(z))).numpy()
        return self.loaded.decode(z).numpy()

    def encode(self, images, labels=None, batch_size=256):
        parts = []
        for start in range(0, len(images), batch_size):
            batch = tf.constant(np.asarray(images[start : start + batch_size], "float32"))
            if self.num_classes:
                batch_labels = _labels_tensor(labels[start : start + batch_size], len(batch))
                parts.append(self.loaded.encode(batch, batch_labels))
            else:
                parts.append(self.loaded.encode(batch))
        for key in ("z", "indices"):  # an Autoencoder's code, a flow's, a VQ-VAE's
            if key in parts[0]:
                return np.concatenate([part[key].numpy() for part in parts]), None
        return tuple(
            np.concatenate([part[key].numpy() for part in parts]) for key in ("z_mean", "z_log_var")
        )

    def prior_codes(self, count, seed=0, labels=None):
        """`count` codes from `sample_codes`; `labels` (one or `count` classes) if it draws by class."""
        if self.prior_takes_labels:
            if labels is None:
                raise ValueError(
                    f"This model's prior draws each class's codes: pass labels, classes from 0 "
                    f"to {self.num_classes - 1} (one for all {count} codes or one per code)."
                )
            codes = self.loaded.sample_codes(_labels_tensor(labels, count), tf.constant(seed))
            return codes.numpy()
        if self.has_prior:
            return self.loaded.sample_codes(tf.constant(count), tf.constant(seed)).numpy()
        return (
            np.random.default_rng(seed).standard_normal((count, *self.code_shape)).astype("float32")
        )

    def dimension_usage(self, images, labels=None):
        # The prior is not in the signatures: the closed-form KL to N(0, I).
        z_mean, z_log_var = self.encode(images, labels)
        if z_log_var is None and self.flow:
            # As latent.dimension_usage: a flow's code is no Gaussian's mean.
            return z_mean.var(axis=0), "var of code", z_mean
        if z_log_var is None:
            return z_mean.std(axis=0), "sd", z_mean
        kl = keras.ops.convert_to_numpy(gaussian_kl_per_dimension(z_mean, z_log_var))
        return kl.mean(axis=0), "KL to N(0, I)", z_mean
