"""The VQ-VAE (van den Oord et al., 2017): discrete codes, and a PixelCNN prior over them.

"Neural Discrete Representation Learning" (NeurIPS 2017) replaces the
Gaussian code by a map of codebook vectors. The encoder gives a map `z_e`
of `(h, w, D)` vectors (7x7 for 28x28 images); each is replaced by its
nearest vector of a codebook of K (`vae_tf.models.quantizer`), and the
decoder draws the image from that quantized map `z_q`. The code of an image
is the map of the chosen indices, `(h, w)` integers: what `encode` gives,
`decode` takes and the SavedModel serves.

The objective, per example (sums over the map's positions and channels):

    reconstruction  -log p(x | z_q), the gradient passing straight through
                    the quantizer to the encoder (z_e + sg(z_q - z_e));
    codebook        |sg(z_e) - z_q|^2, which moves the codes (optimized
                    with --codebook_update=loss; with the default "ema" the
                    codes are moving averages of their vectors, and it is
                    only logged);
    commitment      commitment_weight * |z_e - sg(z_q)|^2 (0.25, the
                    paper's), which keeps the encoder near its codes.

`total_loss` is the reconstruction. There is no KL term: with a uniform
prior over the codes the paper's KL is the constant `h w log K`.

The prior is a gated PixelCNN over the index maps
(`vae_tf.models.code_prior.CodePixelCNN`), the model's `prior`: `sample`
draws index maps from it and decodes them. It is trained after the VQ-VAE,
on the codes of the training images (`vae_tf.runs.code_prior`,
`--prior_epochs`); untrained, it is uniform.

Example:

```python
model = VQVAE(*vae_tf.models.architectures.build_vq_networks(16), codebook_size=64)
model.compile(optimizer="adam")
model.fit(x_train, epochs=30, batch_size=128)    # reconstruction, codebook, commitment
indices = model.encode(x_test[:8])[0]           # (8, 7, 7) int32
images = model.decode(indices)                  # (8, 28, 28, 1)
```
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from vae_tf.models.architectures import DEFAULT_VQ_HIDDEN
from vae_tf.models.architectures import VQ_NETWORKS
from vae_tf.models.architectures import build_vq_networks
from vae_tf.models.architectures import check_vq_image_shape
from vae_tf.models.base import LatentVariableModel
from vae_tf.models.code_prior import DEFAULT_PRIOR_FILTERS
from vae_tf.models.code_prior import DEFAULT_PRIOR_LAYERS
from vae_tf.models.code_prior import PRIOR_FILTERS
from vae_tf.models.code_prior import PRIOR_LAYERS
from vae_tf.models.code_prior import CodePixelCNN
from vae_tf.models.objective import LossTerm
from vae_tf.models.posteriors import Quantized
from vae_tf.models.quantizer import CODEBOOK_SIZE
from vae_tf.models.quantizer import CODEBOOK_UPDATE
from vae_tf.models.quantizer import DECAY
from vae_tf.models.quantizer import VectorQuantizer
from vae_tf.models.registry import Variant
from vae_tf.models.registry import register_variant
from vae_tf.models.registry import setting
from vae_tf.utils.checks import Integer
from vae_tf.utils.checks import Number
from vae_tf.utils.checks import OneOf

COMMITMENT_WEIGHT = Number(low=0.0)
PRIOR_EPOCHS = Integer(minimum=0)
VQ_NETWORKS_CHECK = OneOf(VQ_NETWORKS)
VQ_HIDDEN = Integer(minimum=1)
DEFAULT_CODEBOOK_SIZE = 512


def _squared_distance(a, b):
    """`|a - b|^2` summed over each example's map, `(batch,)`."""
    return ops.sum(ops.reshape(ops.square(a - b), (ops.shape(a)[0], -1)), axis=1)


@keras.saving.register_keras_serializable(package="vae_tf")
class VQVAE(LatentVariableModel):
    """A VQ-VAE: a codebook between the encoder's map and the decoder, a PixelCNN prior.

    Args:
        encoder: `images -> z_e`, a map `(h, w, D)` of code vectors (see
            `vae_tf.models.architectures.build_vq_networks`).
        decoder: `z_q (h, w, D) -> logits` of the images.
        codebook_size: K, the number of codes (>= 2).
        codebook_update: `"ema"` (moving averages, decay `decay`) or
            `"loss"` (the codebook loss trains the codes).
        commitment_weight: Of the commitment loss (the paper's beta).
        decay: Of the codebook's moving averages.
        prior_layers, prior_filters: The PixelCNN prior's gated layers
            and their channels.
        **kwargs: The family's (likelihood, sigma, seed, num_classes, ...);
            the prior is the PixelCNN's, no other.

    Its codes are index maps `(h, w)` int32: `encode(images)[0]`,
    `decode(indices)`, `sample(n, seed)` (drawn from the prior),
    `code_shape == (h, w)`; `latent_dim` is D, the size of the code vectors.
    """

    loss_term_names = ("reconstruction", "codebook", "commitment")

    def __init__(
        self,
        encoder,
        decoder,
        codebook_size=DEFAULT_CODEBOOK_SIZE,
        codebook_update="ema",
        commitment_weight=0.25,
        decay=0.99,
        prior_layers=DEFAULT_PRIOR_LAYERS,
        prior_filters=DEFAULT_PRIOR_FILTERS,
        **kwargs,
    ):
        for name in ("prior", "prior_components"):
            if name in kwargs:
                raise ValueError(
                    f"A VQVAE's prior is its PixelCNN over the code indices; drop {name}= "
                    "(prior_layers= and prior_filters= size it)."
                )
        self._check_encoder_outputs(encoder)
        prior = CodePixelCNN(
            codebook_size,
            tuple(encoder.outputs[0].shape[1:-1]),
            kwargs.get("num_classes"),
            prior_layers,
            prior_filters,
            name="prior",
            dtype="float32",
        )
        # Trained after the VQ-VAE, by its own optimizer (vae_tf.runs.code_prior):
        # the model's optimizer must neither hold nor move its weights.
        prior.trainable = False
        self.commitment_weight = COMMITMENT_WEIGHT("commitment_weight", commitment_weight)
        # Before the base builds the model, which then takes no new state.
        self.quantizer = VectorQuantizer(
            codebook_size,
            encoder.outputs[0].shape[-1],
            CODEBOOK_UPDATE("codebook_update", codebook_update),
            DECAY("decay", decay),
            name="quantizer",
        )
        super().__init__(encoder, decoder, prior=prior, **kwargs)
        self.kl_weight.assign(0.0)

    @classmethod
    def _check_encoder_outputs(cls, encoder):
        outputs = encoder.outputs if isinstance(encoder, keras.Model) else []
        if len(outputs) != 1 or len(outputs[0].shape) != 4:
            shapes = [tuple(output.shape[1:]) for output in outputs]
            raise ValueError(
                "A VQVAE's encoder must give one map of code vectors, (h, w, code_dim); it "
                f"gives {shapes}. Build the networks with "
                "vae_tf.models.architectures.build_vq_networks."
            )

    @property
    def code_shape(self):
        """`(h, w)`: the map of codebook indices of one image."""
        return tuple(self.encoder.outputs[0].shape[1:-1])

    @property
    def latent_dim(self):
        """D, the size of each code vector (the encoder map's channels)."""
        return self.encoder.outputs[0].shape[-1]

    @property
    def code_dtype(self):
        return "int32"

    @property
    def conditional_prior(self):
        return self.conditional

    @property
    def codebook_size(self):
        """K, the number of codes."""
        return self.quantizer.codebook_size

    @property
    def served_layers(self):
        return [*super().served_layers, self.quantizer]

    def encoder_map(self, images, condition=None, training=False):
        """`z_e`, the encoder's map of code vectors `(batch, h, w, D)`, float32."""
        z_e = self.encoder(self.network_inputs(images, condition), training=training)
        return ops.cast(z_e, "float32")

    def posterior(self, images, condition=None, training=False):
        """The nearest codes' indices, a `Quantized` posterior (no codebook update)."""
        indices, _ = self.quantizer(self.encoder_map(images, condition, training))
        return Quantized(indices)

    def loss_terms(self, images, condition=None, training=False):
        """The reconstruction through the straight-through codes, and the codebook's two terms.

        With `training`, the quantizer learns from the batch (its moving
        averages and restarts), once per step.
        """
        z_e = self.encoder_map(images, condition, training)
        _, z_q = self.quantizer(z_e, training=training)
        straight_through = z_e + ops.stop_gradient(z_q - z_e)
        raw = self.decoder(self.network_inputs(straight_through, condition), training=training)
        return {
            "reconstruction": LossTerm(self.reconstruction_nll(images, raw)),
            "codebook": LossTerm(
                _squared_distance(ops.stop_gradient(z_e), z_q),
                optimized=self.quantizer.codebook_update == "loss",
                in_total=False,
            ),
            "commitment": LossTerm(
                _squared_distance(z_e, ops.stop_gradient(z_q)),
                weight=self.commitment_weight,
                in_total=False,
            ),
        }

    def check_indices(self, indices):
        """Int32 indices `(N, h, w)`, refused if another shape, not integers or out of the codebook.

        Inside a graph (a SavedModel's endpoint) the range is asserted: an
        index out of the codebook fails the call, never clipped.
        """
        if not tf.is_tensor(indices):
            array = np.asarray(indices)
            if array.size and not np.issubdtype(array.dtype, np.integer):
                if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
                    raise ValueError(
                        f"A VQ-VAE decodes codebook indices, integers in [0, "
                        f"{self.codebook_size - 1}]; got {array.dtype} values that are not whole."
                    )
            indices = array.astype("int64")
        elif not indices.dtype.is_integer:
            raise ValueError(
                f"A VQ-VAE decodes codebook indices, integers; got a {indices.dtype.name} tensor."
            )
        shape = tuple(indices.shape)
        if len(shape) != 3 or shape[1:] != self.code_shape:
            raise ValueError(
                f"indices must have shape (N, {', '.join(map(str, self.code_shape))}), the code "
                f"map of each image; got {shape}."
            )
        if isinstance(indices, np.ndarray) or tf.executing_eagerly():
            if shape[0]:
                low, high = int(ops.min(indices)), int(ops.max(indices))
                if low < 0 or high >= self.codebook_size:
                    raise ValueError(
                        f"Codebook indices must be in [0, {self.codebook_size - 1}] "
                        f"(codebook_size {self.codebook_size}); got values from {low} to {high}."
                    )
            return ops.convert_to_tensor(indices, "int32")
        indices = tf.cast(indices, "int32")
        checks = [
            tf.debugging.assert_non_negative(indices, message="codebook indices must be >= 0"),
            tf.debugging.assert_less(
                indices,
                self.codebook_size,
                message=f"codebook indices must be < codebook_size ({self.codebook_size})",
            ),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(indices)

    def raw_decode(self, z, condition=None, training=False):
        """The decoder's logits for index maps `z` `(N, h, w)`: their codes, decoded."""
        codes = self.quantizer.lookup(z)
        return self.decoder(self.network_inputs(codes, condition), training=training)

    def decode(self, z, labels=None, seed=None):
        """Images in [0, 1] of index maps `z` `(N, h, w)`, integers in [0, codebook_size)."""
        indices = self.check_indices(z)
        condition = self.condition(labels, indices.shape[0])
        return self.decoded_probabilities(self.raw_decode(indices, condition), seed=seed)

    def prior_codes(self, num_samples, seed, labels=None):
        """Index maps drawn from the PixelCNN prior; a conditional one draws each label's."""
        condition = self.condition(labels, num_samples) if self.conditional else None
        return self.prior.sample(num_samples, seed, condition)

    def code_vectors(self, codes):
        """The codebook vectors of index maps: `(N, h, w, D)`, float32."""
        return self.quantizer.lookup(codes)

    def prior_log_prob(self, indices, labels=None):
        """`log p(indices)` under the PixelCNN prior, `(N,)` nats (given the labels if conditional)."""
        indices = self.check_indices(indices)
        return self.prior.log_prob(indices, self.condition(labels, indices.shape[0]))

    def get_config(self):
        config = super().get_config()
        for name in ("prior", "prior_components"):
            del config[name]
        return {
            **config,
            "codebook_size": self.codebook_size,
            "codebook_update": self.quantizer.codebook_update,
            "commitment_weight": self.commitment_weight,
            "decay": self.quantizer.decay,
            "prior_layers": self.prior.layers_count,
            "prior_filters": self.prior.filters,
        }


def check_vq_settings(config):
    """The VQ-VAE's refusals of a config: its networks, and the prior's training."""
    if config.architecture != "conv":
        raise ValueError(
            "The VQ-VAE has its own networks, chosen by vq_networks (residual: the paper's; "
            f"keras_io: the keras.io example's): drop architecture={config.architecture!r} "
            "(or set architecture='conv', the default)."
        )
    if config.vq_networks == "keras_io" and config.vq_hidden != DEFAULT_VQ_HIDDEN:
        raise ValueError(
            "vq_hidden sizes the residual networks; the keras_io ones have the example's fixed "
            "32 and 64 filters: drop vq_hidden, or set vq_networks='residual'."
        )


def _build(config, image_shape, common):
    networks = build_vq_networks(
        config.latent_dim,
        image_shape,
        common["num_classes"],
        networks=config.vq_networks,
        hidden=config.vq_hidden,
    )
    return VQVAE(
        *networks,
        codebook_size=config.codebook_size,
        codebook_update=config.codebook_update,
        commitment_weight=config.commitment_weight,
        prior_layers=config.prior_layers,
        prior_filters=config.prior_filters,
        **common,
    )


register_variant(
    Variant(
        name="vq_vae",
        description="the VQ-VAE (van den Oord et al., 2017): maps of codebook indices, "
        "straight-through gradients, and a gated PixelCNN prior over the indices trained after "
        "it (--prior_epochs)",
        model_class=VQVAE,
        build=_build,
        settings={
            "codebook_size": setting(
                DEFAULT_CODEBOOK_SIZE,
                "vq_vae: K, the number of codebook vectors (>= 2); each code vector's size is "
                "latent_dim (16 in the keras.io example).",
                CODEBOOK_SIZE,
            ),
            "vq_networks": setting(
                "residual",
                "vq_vae: its encoder and decoder: residual (the paper's: stride-2 4x4 "
                "convolutions and two residual blocks; each code sees 26x26 pixels) or keras_io "
                "(the keras.io example's two 3x3 convolutions; each code sees 7x7).",
                VQ_NETWORKS_CHECK,
            ),
            "vq_hidden": setting(
                DEFAULT_VQ_HIDDEN,
                "vq_vae: units of the residual networks (the paper's 256; 64 for a CPU).",
                VQ_HIDDEN,
            ),
            "codebook_update": setting(
                "ema",
                "vq_vae: how the codebook learns: ema (moving averages of the vectors "
                "assigned to each code, decay 0.99) or loss (the codebook loss, by the "
                "optimizer). Unused codes restart on encoder outputs either way.",
                CODEBOOK_UPDATE,
            ),
            "commitment_weight": setting(
                0.25,
                "vq_vae: weight of the commitment loss |z_e - sg(z_q)|^2 (the paper's beta).",
                COMMITMENT_WEIGHT,
            ),
            "prior_epochs": setting(
                0,
                "vq_vae: epochs of its PixelCNN prior over the code indices, trained after the "
                "VQ-VAE's epochs on the codes of the training images (0: the prior stays "
                "uniform).",
                PRIOR_EPOCHS,
            ),
            "prior_layers": setting(
                DEFAULT_PRIOR_LAYERS,
                "vq_vae: gated masked convolutions of the PixelCNN prior (a 7x7 of type A, "
                "then residual 3x3 ones).",
                PRIOR_LAYERS,
            ),
            "prior_filters": setting(
                DEFAULT_PRIOR_FILTERS,
                "vq_vae: channels of each layer of the PixelCNN prior.",
                PRIOR_FILTERS,
            ),
        },
        check=check_vq_settings,
        check_image_shape=lambda config, image_shape: check_vq_image_shape(image_shape),
        refusal="the VQ-VAE has discrete codes, no KL term and its own PixelCNN prior",
    )
)
