"""The DIP-VAE (Kumar et al., 2018): the ELBO plus a penalty on the aggregate posterior's covariance.

"Variational Inference of Disentangled Latent Concepts from Unlabeled
Observations" (ICLR 2018, Eqs. 6 and 7) matches the moments of the
aggregate posterior `q(z) = E_x q(z|x)` to the prior N(0, I) by penalizing
the covariance `C` of the batch's codes away from the identity:

    dip = lambda_od * sum_{i != j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2

- DIP-VAE-I: `C = Cov_x[mu(x)]`, the covariance of the encoder's means;
- DIP-VAE-II: `C = E_x[diag(sigma^2(x))] + Cov_x[mu(x)]`, the covariance of
  `q(z)` itself.

As in disentanglement_lib (`methods/unsupervised/vae.py`: `DIPVAE`,
`compute_covariance_z_mean`, `regularize_diag_off_diag_dip`), the
covariance is the batch's (divided by its size, not size - 1), the KL keeps
its weight (`kl_weight`, 1 unless a KL schedule drives it) and the
defaults follow its study: `lambda_d = 10 * lambda_od` for type i and
`lambda_d = lambda_od` for type ii.

Example:

```python
model = DIPVAE(*vae_tf.build_encoder_decoder("conv", 10), dip_type="ii", lambda_od=5.0)
model.compile(optimizer="adam")
model.fit(x_train, epochs=30, batch_size=64)      # logs dip_loss beside kl_loss
```
"""

from typing import Optional

import keras
from keras import ops

from vae_tf.models.architectures import build_encoder_decoder
from vae_tf.models.objective import LossTerm
from vae_tf.models.objective import gather_batch
from vae_tf.models.registry import Variant
from vae_tf.models.registry import register_variant
from vae_tf.models.registry import setting
from vae_tf.models.vae import KL_SCHEDULES
from vae_tf.models.vae import VAE
from vae_tf.utils.checks import Number
from vae_tf.utils.checks import OneOf

DIP_TYPES = ("i", "ii")
DIP_TYPE = OneOf(DIP_TYPES)
LAMBDA = Number(low=0.0)
LAMBDA_D = Number(low=0.0, optional=True, note="None: 10 * lambda_od for type i, lambda_od for ii")
# disentanglement_lib's code has no default weights (gin.REQUIRED); its
# unsupervised study sweeps lambda_od over [1, 2, 5, 10, 20, 50] with
# lambda_d_factor 10 (type i) or 1 (type ii). 10 is in that sweep, and is
# Kumar et al.'s DIP-VAE-I setting on dSprites (lambda_d = 100).
LAMBDA_OD = 10.0
LAMBDA_D_FACTORS = {"i": 10.0, "ii": 1.0}


def default_lambda_d(dip_type, lambda_od):
    """disentanglement_lib's `lambda_d = lambda_d_factor * lambda_od`: 10x for type i, 1x for ii."""
    return LAMBDA_D_FACTORS[DIP_TYPE("dip_type", dip_type)] * lambda_od


def dip_covariance(z_mean, z_variance=None):
    """The covariance DIP-VAE regularizes, `(d, d)`, of a batch of codes `(N, d)`.

    `Cov[mu] = (1/N) sum_n (mu_n - mean)(mu_n - mean)^T` (DIP-VAE-I); with the
    posteriors' variances `z_variance` (DIP-VAE-II), plus `diag(mean_n sigma_n^2)`:
    the covariance of the aggregate posterior. The same value as
    disentanglement_lib's `E[mu mu^T] - E[mu] E[mu]^T`; centred first, which
    loses no digits in float32 when the means are far from 0.

    Example:

    ```python
    dip_covariance(np.array([[1.0, 2.0], [3.0, 2.0]], "float32"))   # [[1, 0], [0, 0]]
    ```
    """
    z_mean = ops.cast(z_mean, "float32")
    centered = z_mean - ops.mean(z_mean, axis=0, keepdims=True)
    count = ops.cast(ops.shape(z_mean)[0], "float32")
    covariance = ops.matmul(ops.transpose(centered), centered) / count
    if z_variance is None:
        return covariance
    return covariance + ops.diag(ops.mean(ops.cast(z_variance, "float32"), axis=0))


def dip_penalty(covariance, lambda_od, lambda_d):
    """`lambda_od * sum_{i != j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2` (a number, not nats).

    disentanglement_lib's `regularize_diag_off_diag_dip`: 0 for the identity.

    Example:

    ```python
    dip_penalty(np.eye(3, dtype="float32"), 10.0, 100.0)      # 0.0
    dip_penalty(2 * np.eye(3, dtype="float32"), 10.0, 100.0)  # 100 * 3 * (2 - 1)^2 = 300.0
    ```
    """
    diagonal = ops.diagonal(covariance)
    off_diagonal = covariance - ops.diag(diagonal)
    return lambda_od * ops.sum(ops.square(off_diagonal)) + lambda_d * ops.sum(
        ops.square(diagonal - 1.0)
    )


@keras.saving.register_keras_serializable(package="vae_tf")
class DIPVAE(VAE):
    """The DIP-VAE of Kumar et al. (2018): `reconstruction + kl_weight * KL + dip`.

    `dip` (module docstring) is a statistic of the batch, not of an example:
    under a `tf.distribute` strategy every replica gathers the global
    batch's means (and variances) with `gather_batch` and computes the
    penalty of the GLOBAL batch, as one device would. It is handed to the
    step as the same value for each of the replica's examples, so that the
    mean over the global batch that `batch_objective` takes is the penalty
    itself; the gradients that flow back through the gather to the other
    replicas' rows sum, over the replicas, to one device's. `dip_loss` is
    that penalty (weighted by the lambdas); `total_loss` stays the negative
    ELBO. The objective is the one-sample ELBO of `VAE`; `beta` weighs the
    KL (1 in the paper).

    Args:
        encoder, decoder: As for `VAE`: a Gaussian encoder `[z_mean, z_log_var]`.
            Codes of any shape are flattened into the covariance's `d`.
        dip_type: `"i"`, the covariance of the means, or `"ii"`, of the
            aggregate posterior (adds the mean of the posterior variances).
        lambda_od: Weight of the squared off-diagonal entries (>= 0).
        lambda_d: Weight of the squared deviations of the diagonal from 1
            (>= 0); None: `default_lambda_d` (100 for type i, 10 for ii at the
            default `lambda_od`).
        **kwargs: The `VAE`'s (likelihood, beta, prior, seed, num_classes,
            ...); the objective is the one-sample ELBO.

    Example:

    ```python
    model = DIPVAE(*vae_tf.build_encoder_decoder("mlp", 10), dip_type="i", lambda_od=10.0)
    model.lambda_d                                     # 100.0
    model.per_example_losses(x[:64])["dip"]            # the batch's penalty, 64 times
    ```
    """

    loss_term_names = ("reconstruction", "kl", "dip")
    flow_refusal = "its penalty is on the covariance of the encoder's Gaussian means and variances"

    def __init__(
        self, encoder, decoder, dip_type="i", lambda_od=LAMBDA_OD, lambda_d=None, **kwargs
    ):
        self.dip_type = DIP_TYPE("dip_type", dip_type)
        self.lambda_od = LAMBDA("lambda_od", lambda_od)
        lambda_d = LAMBDA_D("lambda_d", lambda_d)
        self.lambda_d = default_lambda_d(dip_type, self.lambda_od) if lambda_d is None else lambda_d
        super().__init__(encoder, decoder, **kwargs)
        if self.objective != "elbo" or self.num_samples != 1:
            raise ValueError(
                "DIPVAE adds its penalty to the one-sample ELBO; got "
                f"objective={self.objective!r}, num_samples={self.num_samples}. Use the "
                "defaults (objective='elbo', num_samples=1)."
            )

    def dip(self, posterior):
        """The penalty of the global batch's covariance (`dip_covariance`), a scalar (not nats)."""
        batch = ops.shape(posterior.mean())[0]
        means = ops.reshape(ops.cast(posterior.mean(), "float32"), (batch, -1))
        if self.dip_type == "i":
            everyone, _ = gather_batch(means)
            return dip_penalty(dip_covariance(everyone), self.lambda_od, self.lambda_d)
        variances = ops.reshape(ops.exp(ops.cast(posterior.log_variance(), "float32")), (batch, -1))
        # One collective for both: each is a round trip between the replicas.
        everyone, _ = gather_batch(ops.concatenate([means, variances], axis=1))
        means, variances = ops.split(everyone, 2, axis=1)
        return dip_penalty(dip_covariance(means, variances), self.lambda_od, self.lambda_d)

    def loss_terms(self, images, condition=None, training=False):
        """The ELBO's terms of one draw, and `dip`: the batch's penalty for each example."""
        posterior = self.posterior(images, condition, training=training)
        terms = self.one_draw_terms(images, posterior, condition, training)
        reconstruction = terms["reconstruction"].value
        penalty = self.dip(posterior) * ops.ones_like(ops.cast(reconstruction, "float32"))
        return {**terms, "dip": LossTerm(penalty, in_total=False)}

    def get_config(self):
        return {
            **super().get_config(),
            "dip_type": self.dip_type,
            "lambda_od": self.lambda_od,
            "lambda_d": self.lambda_d,
        }


def _build(config, image_shape, common):
    networks = build_encoder_decoder(
        config.architecture, config.latent_dim, image_shape, common["num_classes"]
    )
    return DIPVAE(
        *networks,
        dip_type=config.dip_type,
        lambda_od=config.lambda_od,
        lambda_d=config.lambda_d,
        z_log_var_clip=config.z_log_var_clip,
        **common,
    )


def _check(config):
    if config.batch_size < 2:
        raise ValueError(
            f"dip_vae regularizes the covariance of each batch's codes, which is 0 for a batch "
            f"of one: its penalty would not train. Set batch_size >= 2 (got "
            f"{config.batch_size}; disentanglement_lib trains with 64)."
        )


register_variant(
    Variant(
        name="dip_vae",
        description="the DIP-VAE (Kumar et al., 2018): the ELBO plus a penalty on the covariance "
        "of the aggregate posterior (type i: of the encoder's means; ii: of q(z))",
        model_class=DIPVAE,
        build=_build,
        settings={
            "dip_type": setting(
                "i",
                "dip_vae: the covariance regularized towards the identity (Kumar et al., 2018): i, "
                "of the encoder's means Cov[mu(x)]; ii, of the aggregate posterior, "
                "E[diag(sigma^2(x))] + Cov[mu(x)].",
                DIP_TYPE,
            ),
            "lambda_od": setting(
                LAMBDA_OD,
                "dip_vae: weight of the squared off-diagonal covariances (disentanglement_lib's "
                "study sweeps 1, 2, 5, 10, 20, 50).",
                LAMBDA,
            ),
            "lambda_d": setting(
                None,
                "dip_vae: weight of the squared deviations of the variances from 1; default: "
                "10 * lambda_od for dip_type i, lambda_od for ii (disentanglement_lib's study).",
                LAMBDA_D,
                type=Optional[float],
            ),
        },
        takes=(*KL_SCHEDULES, "z_log_var_clip"),
        check=_check,
        refusal="DIP-VAE regularizes the covariance of one Gaussian layer's means, beside the "
        "one-sample ELBO's KL to N(0, I): two stochastic layers, the IWAE bound, mixture priors "
        "and the other settings of --model=vae do not apply",
    )
)
