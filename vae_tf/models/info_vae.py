"""InfoVAE with the MMD (Zhao et al., 2017): the ELBO, its KL reweighted, plus the MMD to p(z).

"InfoVAE: Balancing Learning and Inference in Variational Autoencoders"
(AAAI 2019; arXiv 2017) writes a family of objectives

    reconstruction + (1 - alpha) * KL(q(z|x) || p(z)) + (alpha + lambda - 1) * D(q(z), p(z))

where `D` compares the aggregate posterior `q(z)` with the prior. With the
MMD as `D` (the "MMD-VAE"), this model minimizes

    reconstruction + kl_weight * KL(q(z|x) || N(0, I)) + mmd_weight * MMD^2(z, prior draws)

over one reparameterized draw `z` per image: `kl_weight` is `1 - alpha`,
`mmd_weight` is `alpha + lambda - 1`. The KL keeps each posterior near the
prior (its weight is the model's `beta`, which the KL schedules drive); the
MMD (`vae_tf.models.wae.prior_mmd`, gathered over the replicas) pulls the
codes of the batch as a whole onto it, which the KL alone does too weakly
when it is down-weighted: that is where the plain beta < 1 VAE leaves holes
in the prior that sampling then decodes into blurs. `total_loss` is the
negative ELBO (reconstruction + KL, unweighted), so the NLL and ELBO of
`evaluate.py` compare with the VAE's.

Example:

```python
model = InfoVAE(*vae_tf.build_encoder_decoder("conv", 8), kl_weight=0.5, mmd_weight=100.0)
model.compile(optimizer="adam")
model.fit(x_train, epochs=30, batch_size=128)    # logs kl_loss and mmd_loss
```
"""

import keras

from vae_tf.models.architectures import build_encoder_decoder
from vae_tf.models.objective import LossTerm
from vae_tf.models.registry import Variant
from vae_tf.models.registry import register_variant
from vae_tf.models.registry import setting
from vae_tf.models.vae import BETA
from vae_tf.models.vae import KL_SCHEDULES
from vae_tf.models.vae import VAE
from vae_tf.models.wae import DEFAULT_MMD_WEIGHT
from vae_tf.models.wae import KERNEL
from vae_tf.models.wae import MMD_WEIGHT
from vae_tf.models.wae import check_batch_size
from vae_tf.models.wae import check_standard_normal_prior
from vae_tf.models.wae import prior_mmd


@keras.saving.register_keras_serializable(package="vae_tf")
class InfoVAE(VAE):
    """The InfoVAE of Zhao et al. (2017) with the MMD: `rec + kl_weight * KL + mmd_weight * MMD^2`.

    Args:
        encoder, decoder: As for `VAE`: a Gaussian encoder `[z_mean, z_log_var]`.
        kl_weight: Weight of the KL term, Zhao et al.'s `1 - alpha` (>= 0):
            the `VAE`'s `beta`, the target of the KL schedules.
        mmd_weight: Weight of the MMD between the batch's draws and draws
            from N(0, I) (>= 0).
        kernel: `"imq"` or `"rbf"` (`vae_tf.losses.mmd_kernel`).
        **kwargs: The `VAE`'s (likelihood, seed, num_classes, z_log_var_clip,
            ...); the prior is N(0, I), the objective the one-sample ELBO.

    Example:

    ```python
    model = InfoVAE(*vae_tf.build_encoder_decoder("mlp", 8), kl_weight=0.5)
    model.beta                                         # 0.5, the KL's weight
    model.per_example_losses(x[:64])["mmd"]            # the batch's MMD, 64 times
    ```
    """

    loss_term_names = ("reconstruction", "kl", "mmd")
    flow_refusal = "its MMD and KL are those of one diagonal Gaussian code"

    def __init__(
        self, encoder, decoder, kl_weight=1.0, mmd_weight=DEFAULT_MMD_WEIGHT, kernel="imq", **kwargs
    ):
        self.mmd_weight = MMD_WEIGHT("mmd_weight", mmd_weight)
        self.kernel = KERNEL("kernel", kernel)
        if "beta" in kwargs:
            raise ValueError(
                "InfoVAE weighs its KL term by kl_weight (Zhao et al.'s 1 - alpha); pass "
                "kl_weight= instead of beta=."
            )
        super().__init__(encoder, decoder, beta=BETA("kl_weight", kl_weight), **kwargs)
        check_standard_normal_prior(self)
        if self.objective != "elbo" or self.num_samples != 1:
            raise ValueError(
                "InfoVAE adds its MMD to the one-sample ELBO; got "
                f"objective={self.objective!r}, num_samples={self.num_samples}. Use the "
                "defaults (objective='elbo', num_samples=1)."
            )

    def loss_terms(self, images, condition=None, training=False):
        """The ELBO's terms of one draw, and `mmd`: the batch's draws against N(0, I)."""
        posterior = self.posterior(images, condition, training=training)
        draw = posterior.sample_and_log_prob()
        terms = self.one_draw_terms(images, posterior, condition, training, draw=draw)
        mmd = prior_mmd(self, posterior.code(draw[0]), self.kernel)
        return {**terms, "mmd": LossTerm(mmd, weight=self.mmd_weight, in_total=False)}

    def get_config(self):
        config = super().get_config()
        return {
            **{key: value for key, value in config.items() if key != "beta"},
            "kl_weight": config["beta"],
            "mmd_weight": self.mmd_weight,
            "kernel": self.kernel,
        }


def _build(config, image_shape, common):
    networks = build_encoder_decoder(
        config.architecture, config.latent_dim, image_shape, common["num_classes"]
    )
    return InfoVAE(
        *networks,
        kl_weight=config.kl_weight,
        mmd_weight=config.mmd_weight,
        kernel=config.kernel,
        z_log_var_clip=config.z_log_var_clip,
        **common,
    )


register_variant(
    Variant(
        name="info_vae",
        description="InfoVAE with the MMD (Zhao et al., 2017): the ELBO with its KL weighted by "
        "kl_weight, plus mmd_weight times the MMD between the batch's codes and N(0, I)",
        model_class=InfoVAE,
        build=_build,
        settings={
            "kl_weight": setting(
                1.0,
                "info_vae: weight of the KL term, Zhao et al.'s 1 - alpha (the role --beta has "
                "for --model=vae; the KL schedules ramp it).",
                BETA,
            ),
        },
        takes=("mmd_weight", "kernel", "z_log_var_clip", *KL_SCHEDULES),
        check=check_batch_size("info_vae"),
        refusal="InfoVAE adds the MMD to the one-sample ELBO of one Gaussian code under N(0, I)",
    )
)
