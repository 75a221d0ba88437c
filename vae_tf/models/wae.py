"""The Wasserstein autoencoder with the MMD penalty (Tolstikhin et al., 2018): WAE-MMD.

"Wasserstein Auto-Encoders" (ICLR 2018) trades the VAE's per-image KL term
for a penalty on the AGGREGATE posterior: a deterministic encoder, and the
maximum mean discrepancy between the codes of a batch and as many draws from
the prior N(0, I),

    reconstruction + mmd_weight * MMD^2(codes, prior draws)

so that each image keeps a sharp code (no noise is added to it) while the
codes as a whole fill the prior, which the decoder then turns into images.
The MMD is the unbiased estimate of `vae_tf.losses.mmd`, with the inverse
multiquadratics kernel summed over the paper's scales by default
(`--kernel=imq`; `rbf` the Gaussian). The reconstruction is the model's
likelihood (`--likelihood`), in nats, where the paper took the squared error.

The penalty is a statistic of the batch: under a `tf.distribute` strategy,
every replica gathers the global batch's codes and prior draws
(`vae_tf.models.objective.gather_batch`), as `DIPVAE` does with its
covariance, so that two replicas train as one device would.

Example:

```python
model = WassersteinAutoencoder(
    *vae_tf.build_encoder_decoder("conv", 8, variational=False), mmd_weight=100.0)
model.compile(optimizer="adam")
model.fit(x_train, epochs=30, batch_size=128)     # logs reconstruction_loss and mmd_loss
model.sample(16, seed=0)                          # decoded draws from N(0, I)
```
"""

import math

import keras
from keras import ops

from vae_tf import losses
from vae_tf.models.autoencoder import Autoencoder
from vae_tf.models.autoencoder import deterministic_networks
from vae_tf.models.objective import LossTerm
from vae_tf.models.objective import gather_batch
from vae_tf.models.priors import StandardNormal
from vae_tf.models.registry import Variant
from vae_tf.models.registry import register_variant
from vae_tf.models.registry import setting
from vae_tf.utils.checks import Number
from vae_tf.utils.checks import OneOf

KERNEL = OneOf(losses.MMD_KERNELS)
MMD_WEIGHT = Number(low=0.0)
# Measured on MNIST (conv, latent 8, 5 epochs; docs/models.md), for both
# models: the WAE's samples' FID falls from 63 at 10 to 52 at 100, and 1000
# halves their recall; InfoVAE's NLL and FID beat the plain VAE's at 100, and
# at 1000 its MMD makes every posterior the prior (no active unit).
DEFAULT_MMD_WEIGHT = 100.0


def check_standard_normal_prior(model):
    """The MMD compares codes with draws from N(0, I): refuses any other prior, with the fix.

    Example: `check_standard_normal_prior(model)` in the model's `__init__`.
    """
    if not isinstance(model.prior, StandardNormal):
        raise ValueError(
            f"{type(model).__name__} matches its codes to draws from N(0, I) with the MMD; "
            f"got the prior {type(model.prior).__name__}. Use prior='normal'."
        )


def prior_mmd(model, codes, kernel="imq"):
    """The MMD of the global batch's codes against as many draws from N(0, I), per example.

    `codes`: `(batch, *code_shape)`. The draws come from `model.sampler`
    (seeded, independent on every replica). Returns `(batch,)`: the
    batch's estimate (`vae_tf.losses.mmd`) for each of its examples, so that
    the mean over the global batch that the objective takes is the estimate
    itself. A global batch of one (an epoch's last, short batch) has no pair
    of codes to compare: its penalty is 0.

    Example: `prior_mmd(wae, wae.encode(images)[0])`, the same value `len(images)` times.
    """
    batch = ops.shape(codes)[0]
    size = math.prod(codes.shape[1:])
    codes = ops.reshape(ops.cast(codes, "float32"), (-1, size))
    draws = model.sampler.normal((batch, size), "float32")
    # One collective for both: each is a round trip between the replicas.
    everyone, _ = gather_batch(ops.concatenate([codes, draws], axis=1))
    # The gather forgets the static width, which the kernel's bandwidth needs.
    everyone = ops.reshape(everyone, (-1, 2 * size))
    penalty = losses.mmd(everyone[:, :size], everyone[:, size:], kernel)
    pairs = ops.shape(everyone)[0] >= 2
    return ops.where(pairs, penalty, 0.0) * ops.ones((batch,), "float32")


@keras.saving.register_keras_serializable(package="vae_tf")
class WassersteinAutoencoder(Autoencoder):
    """WAE-MMD (Tolstikhin et al., 2018): `reconstruction + mmd_weight * MMD^2(codes, N(0, I))`.

    A deterministic encoder (build it with `variational=False`), the
    family's likelihood for the reconstruction, and the unbiased MMD of
    the batch's codes against draws from the prior (`prior_mmd`), logged
    as `mmd_loss` (unweighted). `total_loss` is the reconstruction: there
    is no KL term, and no ELBO nor likelihood to evaluate. Sampling decodes
    draws from N(0, I), which the MMD makes the codes' distribution.

    Args:
        encoder, decoder: As for `Autoencoder`: the encoder gives the code itself.
        mmd_weight: Weight of the MMD (>= 0).
        kernel: `"imq"` (inverse multiquadratics over the paper's scales) or
            `"rbf"` (`vae_tf.losses.mmd_kernel`).
        **kwargs: The `Autoencoder`'s (likelihood, sigma, seed, num_classes, ...).

    Example:

    ```python
    model = WassersteinAutoencoder(*vae_tf.build_encoder_decoder("mlp", 8, variational=False))
    model.per_example_losses(x[:64])["mmd"]          # the batch's MMD, 64 times
    ```
    """

    loss_term_names = ("reconstruction", "mmd")

    def __init__(self, encoder, decoder, mmd_weight=DEFAULT_MMD_WEIGHT, kernel="imq", **kwargs):
        self.mmd_weight = MMD_WEIGHT("mmd_weight", mmd_weight)
        self.kernel = KERNEL("kernel", kernel)
        super().__init__(encoder, decoder, **kwargs)
        check_standard_normal_prior(self)

    def loss_terms(self, images, condition=None, training=False):
        """The code's reconstruction, and `mmd`: the batch's MMD to N(0, I) for each example."""
        z = self.posterior(images, condition, training=training).mean()
        reconstruction = self.code_reconstruction_nll(images, z, condition, training)
        return {
            "reconstruction": LossTerm(reconstruction),
            "mmd": LossTerm(
                prior_mmd(self, z, self.kernel), weight=self.mmd_weight, in_total=False
            ),
        }

    def get_config(self):
        return {**super().get_config(), "mmd_weight": self.mmd_weight, "kernel": self.kernel}


def check_batch_size(name):
    """A variant's `check` refusing a batch of one: its MMD needs pairs of codes.

    Example: `Variant(..., check=check_batch_size("wae_mmd"))`.
    """

    def check(config):
        if config.batch_size < 2:
            raise ValueError(
                f"{name} compares each batch's codes with draws from the prior by the MMD, "
                "which needs pairs of codes: a batch of one has none. Set batch_size >= 2 "
                f"(got {config.batch_size})."
            )

    return check


def _build(config, image_shape, common):
    networks = deterministic_networks(config, image_shape, common["num_classes"])
    return WassersteinAutoencoder(
        *networks, mmd_weight=config.mmd_weight, kernel=config.kernel, **common
    )


register_variant(
    Variant(
        name="wae_mmd",
        description="the Wasserstein autoencoder with the MMD penalty (Tolstikhin et al., "
        "2018): a deterministic encoder, and the MMD between the batch's codes and draws from "
        "N(0, I)",
        model_class=WassersteinAutoencoder,
        build=_build,
        settings={
            "mmd_weight": setting(
                DEFAULT_MMD_WEIGHT,
                "wae_mmd, info_vae: weight of the MMD between the batch's codes and draws "
                "from N(0, I) (docs/models.md measures 10 to 1000).",
                MMD_WEIGHT,
            ),
            "kernel": setting(
                "imq",
                "wae_mmd, info_vae: the MMD's kernel: imq (inverse multiquadratics summed over "
                "Tolstikhin et al.'s scales) or rbf (Gaussian); bandwidth 2 times the size of a "
                "code.",
                KERNEL,
            ),
        },
        check=check_batch_size("wae_mmd"),
        refusal="the WAE has a deterministic encoder, no KL term and the prior N(0, I)",
    )
)
