"""FactorVAE (Kim & Mnih, 2018): the ELBO plus a discriminator's estimate of the codes' total correlation.

The total correlation `KL(q(z) || prod_j q(z_j))` of the aggregate posterior
has no closed form. A discriminator `D` learns to tell codes drawn from
`q(z)` (the batch's codes) from codes of `prod_j q(z_j)` (the same codes,
each dimension shuffled across the batch on its own), and its logit
difference `log D(z) / (1 - D(z))` estimates the total correlation
(the density-ratio trick). The model minimizes

    reconstruction + KL(q(z|x) || N(0, I)) + gamma * (logit_real(z) - logit_permuted(z))

while the discriminator, in the same step and from the same forward pass,
minimizes its cross-entropy with its own Adam (learning rate 1e-4, betas
0.5 and 0.9, as the paper). Both from the same batch, as
disentanglement_lib does (the paper draws the permuted codes from a
second batch).

Example:

```python
model = FactorVAE(*vae_tf.build_encoder_decoder("dlib64", 10, (64, 64, 1)), gamma=10)
model.compile(optimizer=keras.optimizers.Adam(1e-4, beta_1=0.9, beta_2=0.999))
model.fit(x_train, epochs=30, batch_size=64)   # tc_loss, discriminator_loss,
                                               # discriminator_accuracy logged
```
"""

import keras
from keras import layers
from keras import ops

from vae_tf.models.architectures import build_encoder_decoder
from vae_tf.models.objective import LossTerm
from vae_tf.models.objective import gather_batch
from vae_tf.models.priors import StandardNormal
from vae_tf.models.registry import Variant
from vae_tf.models.registry import register_variant
from vae_tf.models.vae import VAE
from vae_tf.utils.checks import Integer
from vae_tf.utils.checks import Number

#: The default weight of the total-correlation estimate: disentanglement_lib's
#: smallest (its study sweeps 10, 20, 30, 40, 50, 100), and that of the most
#: used reproduction (1Konny/FactorVAE) on dSprites.
FACTOR_VAE_GAMMA = 10.0
# The paper's discriminator (Appendix A): six layers of 1,000 leaky ReLU units.
DISCRIMINATOR_UNITS = 1000
DISCRIMINATOR_LAYERS = 6
GAMMA = Number(low=0.0)


def build_discriminator(code_size, units=DISCRIMINATOR_UNITS, depth=DISCRIMINATOR_LAYERS):
    """The discriminator `codes (code_size,) -> logits (2,)`: [from q(z), permuted].

    Float32 throughout: it is trained by its own optimizer, without the loss
    scaling mixed precision would need.

    Example:

    >>> build_discriminator(10).count_params()
    5018002
    """
    Integer(1)("code_size", code_size)
    Integer(1)("units", units)
    Integer(1)("depth", depth)
    codes = keras.Input((code_size,), name="codes")
    x = codes
    for index in range(depth):
        x = layers.Dense(units, name=f"hidden_{index}", dtype="float32")(x)
        x = layers.LeakyReLU(0.2, dtype="float32")(x)  # tf.nn.leaky_relu's slope, as the paper's
    logits = layers.Dense(2, name="logits", dtype="float32")(x)
    return keras.Model(codes, logits, name="discriminator")


def permute_dimensions(codes, noise):
    """Each column of `codes (batch, d)` shuffled across the batch, by the order of `noise`'s column.

    Rows of the result are samples of the product of the codes' marginals
    `prod_j q(z_j)`: each dimension keeps its values, the rows lose their
    dependence.
    """
    return ops.take_along_axis(codes, ops.argsort(noise, axis=0), axis=0)


@keras.saving.register_keras_serializable(package="vae_tf")
class FactorVAE(VAE):
    """FactorVAE (Kim & Mnih, 2018, "Disentangling by Factorising").

    A `VAE` under N(0, I) whose objective adds `gamma` times the total
    correlation of the codes, estimated by `discriminator` (see the module's
    docstring). The discriminator is trained apart
    (`auxiliary_networks`): frozen for the model's optimizer, it is updated
    by `discriminator_optimizer` in the same training step, and saved,
    loaded and resumed with the model (weights and optimizer state).

    Metrics: `reconstruction_loss`, `kl_loss` (`total_loss` is their sum,
    the negative ELBO), `tc_loss` (the estimate of the total correlation, in
    nats), `discriminator_loss` (its cross-entropy, `log 2 = 0.69` at
    chance) and `discriminator_accuracy` (on the batch's codes and their
    permutation).

    Args:
        encoder, decoder: As `VAE`'s; the codes must be flat `(latent_dim,)`.
        gamma: Weight of the total-correlation estimate (>= 0).
        discriminator: A model `codes (latent_dim,) -> logits (2,)`;
            default `build_discriminator(latent_dim)`, the paper's.
        discriminator_learning_rate: Of the discriminator's Adam.
        **kwargs: The `VAE`'s (likelihood, sigma, seed, num_classes, ...);
            the prior is N(0, I) and the objective the ELBO of one draw.

    Example:

    ```python
    model = FactorVAE(*vae_tf.build_encoder_decoder("mlp", 10), gamma=20, seed=0)
    model.compile(optimizer="adam")
    model.fit(x_train, epochs=10)
    ```
    """

    loss_term_names = ("reconstruction", "kl", "tc", "discriminator")
    flow_refusal = "its ELBO takes the closed-form KL of the encoder's Gaussian"
    statistic_names = ("discriminator_accuracy",)

    def __init__(
        self,
        encoder,
        decoder,
        gamma=FACTOR_VAE_GAMMA,
        discriminator=None,
        discriminator_learning_rate=1e-4,
        **kwargs,
    ):
        code_shape = tuple(encoder.outputs[0].shape[1:]) if encoder.outputs else ()
        if len(code_shape) != 1:
            raise ValueError(
                "FactorVAE penalizes the total correlation of flat codes (latent_dim,); the "
                f"encoder gives codes of shape {code_shape}."
            )
        self.gamma = GAMMA("gamma", gamma)
        if discriminator is None:
            discriminator = build_discriminator(code_shape[0])
        if tuple(discriminator.inputs[0].shape[1:]) != code_shape or tuple(
            discriminator.outputs[0].shape[1:]
        ) != (2,):
            raise ValueError(
                f"The discriminator must map codes of shape {code_shape} to 2 logits; it maps "
                f"{discriminator.inputs[0].shape[1:]} to {discriminator.outputs[0].shape[1:]}."
            )
        self.discriminator_learning_rate = Number(low=0.0, low_open=True)(
            "discriminator_learning_rate", discriminator_learning_rate
        )
        # (A loaded one comes frozen, checked when it was first given.)
        if discriminator.trainable and discriminator.non_trainable_weights:
            raise ValueError(
                "The discriminator is trained by its own optimizer on all its weights; it has "
                f"{len(discriminator.non_trainable_weights)} non-trainable weight(s) (batch "
                "normalization?), which would get no gradient and, frozen, no update."
            )
        # Before the base builds the model, which then takes no new state.
        self.discriminator = discriminator
        # Trained by its own optimizer in the step (auxiliary_networks): the
        # model's optimizer must neither hold nor move its weights.
        self.discriminator.trainable = False
        self.discriminator_optimizer = keras.optimizers.Adam(
            discriminator_learning_rate, beta_1=0.5, beta_2=0.9
        )
        # Built now, so that loading a checkpoint restores its state.
        self.discriminator_optimizer.build(self.discriminator.weights)
        super().__init__(encoder, decoder, **kwargs)
        if not isinstance(self.prior, StandardNormal):
            raise ValueError(
                "FactorVAE penalizes the total correlation against the factorized prior "
                f"N(0, I); got {type(self.prior).__name__}. Use prior='normal'."
            )
        if self.objective != "elbo" or self.num_samples != 1 or self.free_bits:
            raise ValueError(
                "FactorVAE trains the ELBO of one code per image plus its penalty; "
                "objective='iwae', num_samples > 1 and free_bits do not apply."
            )

    @property
    def networks(self):
        return {**super().networks, "discriminator": self.discriminator}

    def auxiliary_networks(self):
        return {"discriminator": (self.discriminator, self.discriminator_optimizer)}

    def loss_terms(self, images, condition=None, training=False):
        """The ELBO's terms, `tc` (weight gamma), and the discriminator's loss and accuracy.

        Under a strategy the permutation is of the GLOBAL batch's codes
        (`gather_batch`), as on one device.
        """
        posterior = self.posterior(images, condition, training=training)
        draw = posterior.sample_and_log_prob()
        terms = self.one_draw_terms(images, posterior, condition, training, draw=draw)
        codes = ops.cast(draw[0], "float32")
        logits = self.discriminator(codes, training=training)
        terms["tc"] = LossTerm(logits[:, 0] - logits[:, 1], weight=self.gamma, in_total=False)
        batch_codes, offset = gather_batch(ops.stop_gradient(codes))
        batch_noise, _ = gather_batch(self.sampler.normal(ops.shape(codes)))
        permuted = ops.slice(
            permute_dimensions(batch_codes, batch_noise), (offset, 0), ops.shape(codes)
        )
        permuted_logits = self.discriminator(permuted, training=training)
        real = ops.log_softmax(logits, axis=-1)[:, 0]
        fake = ops.log_softmax(permuted_logits, axis=-1)[:, 1]
        terms["discriminator"] = LossTerm(
            -0.5 * (real + fake), in_total=False, trains="discriminator"
        )
        correct = ops.cast(logits[:, 0] > logits[:, 1], "float32") + ops.cast(
            permuted_logits[:, 1] > permuted_logits[:, 0], "float32"
        )
        terms["discriminator_accuracy"] = LossTerm(0.5 * correct, optimized=False, in_total=False)
        return terms

    def get_config(self):
        return {
            **super().get_config(),
            "gamma": self.gamma,
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "discriminator_learning_rate": self.discriminator_learning_rate,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return super().from_config(config)


def _build(config, image_shape, common):
    networks = build_encoder_decoder(
        config.architecture, config.latent_dim, image_shape, common["num_classes"]
    )
    gamma = FACTOR_VAE_GAMMA if config.gamma is None else config.gamma
    return FactorVAE(*networks, gamma=gamma, z_log_var_clip=config.z_log_var_clip, **common)


def _check(config):
    if config.batch_size < 2:
        raise ValueError(
            "factor_vae's discriminator tells the batch's codes from the same codes shuffled "
            "across the batch, which a batch of one cannot shuffle: batch_size must be at "
            f"least 2; got {config.batch_size}."
        )


register_variant(
    Variant(
        name="factor_vae",
        description="FactorVAE (Kim & Mnih, 2018): the ELBO plus gamma times a discriminator's "
        "estimate of the codes' total correlation; the discriminator (6 x 1000 leaky ReLU, its "
        "own Adam) trains in the same step",
        model_class=FactorVAE,
        build=_build,
        takes=("gamma", "z_log_var_clip"),
        check=_check,
        refusal="FactorVAE penalizes the total correlation of one Gaussian code under N(0, I) "
        "with the ELBO of one draw",
    )
)
