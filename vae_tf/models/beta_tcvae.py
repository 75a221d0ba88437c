"""`BetaTCVAE`: the KL split into index-code MI, total correlation and dimension-wise KL.

beta-TCVAE (Chen et al., 2018, "Isolating Sources of Disentanglement in
Variational Autoencoders"). Averaged over the data, the ELBO's KL term
decomposes as

    E_x KL(q(z|x) || p(z)) = I_q(x; z)                       (index-code MI)
                           + KL(q(z) || prod_j q(z_j))       (total correlation)
                           + sum_j KL(q(z_j) || p(z_j))      (dimension-wise KL)

with `q(z) = (1/N) sum_n q(z|x_n)` the aggregate posterior of the N
training examples. For each example's draw `z ~ q(z|x)` the three terms are
`log q(z|x) - log q(z)`, `log q(z) - sum_j log q(z_j)` and
`sum_j log q(z_j) - log p(z)`: they add up to `log q(z|x) - log p(z)`
exactly, whatever the estimate of `q(z)`. `q(z)` and its marginals are
estimated from the posteriors of the batch (`minibatch_log_densities`).
"""

import math

import keras
import tensorflow as tf
from keras import ops

from vae_tf.models.architectures import build_encoder_decoder
from vae_tf.models.objective import LossTerm
from vae_tf.models.objective import gather_batch
from vae_tf.models.priors import StandardNormal
from vae_tf.models.registry import Variant
from vae_tf.models.registry import register_variant
from vae_tf.models.registry import setting
from vae_tf.models.vae import VAE
from vae_tf.utils.checks import Number
from vae_tf.utils.checks import OneOf

TC_ESTIMATORS = ("mss", "mws")
TC_ESTIMATOR = OneOf(TC_ESTIMATORS)
WEIGHT = Number(low=0.0)
# The VAE's settings that this model's objective has no place for, and why.
_NOT_TAKEN = {
    "beta": "tc_weight is this model's beta (mi_weight and dim_kl_weight weigh the rest)",
    "free_bits": "the closed-form KL is logged only, so a floor on it would train nothing",
    "objective": "the decomposition is of the ELBO of one draw, not of the IWAE bound",
    "num_samples": "the estimators weigh one draw per image against the batch",
}


def pairwise_log_density(z, means, log_vars):
    """`log N(z_ik; mean_jk, exp(log_var_jk))` of every code i under every posterior j, per dimension.

    `z`: `(rows, d)`; `means`, `log_vars`: `(batch, d)`. Returns
    `(rows, batch, d)`, float32, in nats.

    Example:

    ```python
    pairwise_log_density([[0.0]], [[0.0]], [[0.0]])   # [[[-0.9189]]]: -log(2 pi) / 2
    ```
    """
    z, means, log_vars = (ops.cast(value, "float32") for value in (z, means, log_vars))
    squared = ops.square(z[:, None, :] - means[None]) * ops.exp(-log_vars[None])
    return -0.5 * (squared + log_vars[None] + math.log(2.0 * math.pi))


def minibatch_log_weights(rows, batch, dataset_size, estimator="mss", offset=0):
    """`log w_ij`: the weight of posterior j of the batch in the estimate of `q(z_i)`, `(rows, batch)`.

    `q(z_i) ~= sum_j w_ij q(z_i|x_j)` for the draw `z_i` of the batch's
    example `offset + i` (its position in the global batch under a
    strategy), with N = `dataset_size` and B = `batch`:

    - `"mws"`, minibatch weighted sampling (Chen et al., 2018):
      `w_ij = 1 / (N B)` for every j. In expectation a lower bound:
      where each draw is explained by its own posterior alone, `log q(z)`
      comes out about `log B` too low, and the total correlation about
      `(d - 1) log B` too high.
    - `"mss"`, minibatch stratified sampling (their appendix), with
      `M = B - 1`: `w_ii = 1 / N` (the example's own posterior),
      `w_ij = (N - M) / (N M)` for one other, `j = i + 1 (mod B)`, which
      stands for the examples outside the batch, and `1 / M` for the
      others. Each row sums to 1. The authors' `_log_importance_weight_matrix`
      (rtqichen/beta-tcvae, vae_quant.py) strides by B instead of B + 1, so
      it puts `1 / N` on the first column rather than on the diagonal
      (their pull request #1); this follows the paper. A batch of one
      example gets `w = 1 / N`, as with `"mws"`.

    The batch must come from the dataset: with `"mss"`, `B <= N + 1`.

    Example:

    ```python
    ops.exp(minibatch_log_weights(3, 3, 10))   # rows sum to 1:
    # [[0.1, 0.4, 0.5], [0.5, 0.1, 0.4], [0.4, 0.5, 0.1]]
    ```
    """
    size = float(dataset_size)
    if estimator == "mws":
        return ops.full((rows, batch), -math.log(size) - ops.log(ops.cast(batch, "float32")))
    position = ops.arange(rows) + offset
    columns = ops.arange(batch)
    own = position[:, None] == columns[None, :]
    stratum = ops.mod(position + 1, batch)[:, None] == columns[None, :]
    # M >= 1 keeps a batch of one finite; there the stratum is the example
    # itself, and its own weight 1/N wins.
    others = ops.cast(ops.maximum(batch - 1, 1), "float32")
    log_stratum = ops.log((size - others) / (size * others))
    return ops.where(own, -math.log(size), ops.where(stratum, log_stratum, -ops.log(others)))


def minibatch_log_densities(z, means, log_vars, dataset_size, estimator="mss", offset=0):
    """`(log q(z_i), sum_k log q(z_ik))` of each draw, estimated from the batch's posteriors.

    `log q(z_i) = logsumexp_j (log w_ij + log q(z_i|x_j))` and, per dimension,
    `log q(z_ik) = logsumexp_j (log w_ij + log q(z_ik|x_j))` with the weights
    of `minibatch_log_weights`, as in Chen et al.'s code (vae_quant.py,
    `elbo`). `z`: the draws of examples `offset:offset + rows` of the batch,
    `(rows, d)`; `means`, `log_vars`: every posterior of the batch,
    `(batch, d)`. Returns two `(rows,)` tensors, in nats.

    Example:

    ```python
    log_q_z, log_marginals = minibatch_log_densities(z, z_mean, z_log_var, 60000)
    tc = log_q_z - log_marginals
    ```
    """
    estimator = TC_ESTIMATOR("estimator", estimator)
    rows, batch = ops.shape(z)[0], ops.shape(means)[0]
    if estimator == "mss" and isinstance(batch, int) and batch > dataset_size + 1:
        raise ValueError(
            f"A batch of {batch} examples cannot come from a dataset of {dataset_size} (the "
            "stratified estimator needs batch <= dataset_size + 1): set dataset_size to the "
            "number of training examples."
        )
    if estimator == "mss" and not isinstance(batch, int):
        # In a compiled step the batch is dynamic: the check above cannot
        # run, and a dataset_size below batch - 1 gives log of a negative.
        tf.debugging.assert_less_equal(
            batch,
            dataset_size + 1,
            message=f"A batch cannot come from a dataset of {dataset_size} (the stratified "
            "estimator needs batch <= dataset_size + 1): set dataset_size to the number of "
            "training examples (not of batches).",
        )
    log_weights = minibatch_log_weights(rows, batch, dataset_size, estimator, offset)
    log_density = pairwise_log_density(z, means, log_vars)
    log_q_z = ops.logsumexp(log_weights + ops.sum(log_density, axis=-1), axis=1)
    log_marginals = ops.logsumexp(log_weights[:, :, None] + log_density, axis=1)
    return log_q_z, ops.sum(log_marginals, axis=-1)


@keras.saving.register_keras_serializable(package="vae_tf")
class BetaTCVAE(VAE):
    """beta-TCVAE (Chen et al., 2018): the KL's three parts, each with its own weight.

    Trains on, per example and averaged over the batch,
    `reconstruction + mi_weight * mi + tc_weight * tc + dim_kl_weight * dim_kl`
    (see the module docstring), where `q(z)` and its marginals are estimated
    from the batch's posteriors by `tc_estimator` (`minibatch_log_weights`)
    with N = `dataset_size`. With all three weights 1 the objective is the
    ELBO of the draw, `reconstruction + log q(z|x) - log p(z)`.

    Under a `tf.distribute` strategy each replica weighs its own draws
    against the posteriors of the GLOBAL batch (`gather_batch`), so that
    training matches one device.

    Metrics: `reconstruction_loss`, `kl_loss` (the closed-form KL, not
    optimized) and their sum `total_loss` (the negative ELBO, comparable
    with the VAE's), and `mi_loss`, `tc_loss` and `dim_kl_loss`, the
    estimates of the three parts (their sum is the Monte Carlo KL of the
    draws); `loss` is the optimized objective. Validation weighs its
    batches by the training set's N too.

    Args:
        encoder, decoder: As `VAE`'s (flat or `(h, w, c)` codes).
        mi_weight: alpha, the weight of the index-code mutual information.
        tc_weight: beta, the weight of the total correlation (6 by default:
            the middle of disentanglement_lib's sweep 1, 2, 4, 6, 8, 10;
            1 with the others at 1 is the plain VAE).
        dim_kl_weight: gamma, the weight of the dimension-wise KL.
        tc_estimator: `"mss"` (minibatch stratified sampling, the default:
            its weights sum to 1, so the logged terms are nats without the
            `log B` offsets of `"mws"`) or `"mws"` (minibatch weighted
            sampling, the authors' script's default).
        **kwargs: As `VAE`'s (likelihood, sigma, z_log_var_clip, seed,
            num_classes, dataset_size, ...), but for `beta`, `free_bits`,
            `objective` and `num_samples`, which it has no place for, and
            any prior but N(0, I) (the dimension-wise KL needs a factorized
            prior).

    `dataset_size` must be known when the terms are computed: `fit` on
    arrays sets it, `vae_tf.train` too; else pass it (a ValueError at the
    first step says so rather than a silently wrong estimate).

    Example:

    ```python
    encoder, decoder = vae_tf.build_encoder_decoder("mlp", latent_dim=10, image_shape=(64, 64, 1))
    model = BetaTCVAE(encoder, decoder, tc_weight=6.0, tc_estimator="mss")
    model.compile(optimizer="adam")
    model.fit(x_train, epochs=30, batch_size=128)      # sets dataset_size = len(x_train)
    model.per_example_losses(x_train[:128])["tc"]      # (128,), nats
    ```
    """

    loss_term_names = ("reconstruction", "kl", "mi", "tc", "dim_kl")
    flow_refusal = (
        "its minibatch estimators of q(z) and of each q(z_j) weigh the codes by the encoder's "
        "Gaussian densities"
    )

    def __init__(
        self,
        encoder,
        decoder,
        mi_weight=1.0,
        tc_weight=6.0,
        dim_kl_weight=1.0,
        tc_estimator="mss",
        **kwargs,
    ):
        refused = [name for name in _NOT_TAKEN if name in kwargs]
        if refused:
            reasons = "; ".join(f"{name}: {_NOT_TAKEN[name]}" for name in refused)
            raise ValueError(f"BetaTCVAE does not take {', '.join(refused)} ({reasons}).")
        prior = kwargs.get("prior", "normal")
        if prior != "normal" and not isinstance(prior, StandardNormal):
            raise ValueError(
                f"BetaTCVAE needs the prior N(0, I) (prior='normal'); got {prior!r}: the "
                "dimension-wise KL compares each q(z_j) with p(z_j), which needs a factorized "
                "prior."
            )
        self.mi_weight = WEIGHT("mi_weight", mi_weight)
        self.tc_weight = WEIGHT("tc_weight", tc_weight)
        self.dim_kl_weight = WEIGHT("dim_kl_weight", dim_kl_weight)
        self.tc_estimator = TC_ESTIMATOR("tc_estimator", tc_estimator)
        super().__init__(encoder, decoder, **kwargs)

    def loss_terms(self, images, condition=None, training=False):
        """The reconstruction and closed-form KL of one draw, and the KL's three estimated parts."""
        if self.dataset_size is None:
            raise ValueError(
                "BetaTCVAE estimates q(z) from the batch weighted by the number of training "
                "examples, which is unknown: pass dataset_size= to the model (or set "
                "model.dataset_size), or fit on arrays, which sets it."
            )
        posterior = self.posterior(images, condition, training=training)
        z, log_q_z_given_x = posterior.sample_and_log_prob()
        reconstruction = self.code_reconstruction_nll(images, z, condition, training)
        log_p_z = self.prior.log_prob(z)
        size = math.prod(self.code_shape)
        codes, mean, log_var = (
            ops.reshape(ops.cast(value, "float32"), (-1, size))
            for value in (z, posterior.loc, posterior.log_var)
        )
        # Every replica's posteriors (one gather for both halves), so that each
        # draw is weighed against the global batch in one device's order.
        parameters, offset = gather_batch(ops.concatenate([mean, log_var], axis=-1))
        log_q_z, log_marginals = minibatch_log_densities(
            codes,
            parameters[:, :size],
            parameters[:, size:],
            self.dataset_size,
            self.tc_estimator,
            offset,
        )
        return {
            "reconstruction": LossTerm(reconstruction),
            "kl": LossTerm(self.prior.kl(posterior), optimized=False),
            "mi": LossTerm(log_q_z_given_x - log_q_z, weight=self.mi_weight, in_total=False),
            "tc": LossTerm(log_q_z - log_marginals, weight=self.tc_weight, in_total=False),
            "dim_kl": LossTerm(log_marginals - log_p_z, weight=self.dim_kl_weight, in_total=False),
        }

    def get_config(self):
        config = {
            key: value for key, value in super().get_config().items() if key not in _NOT_TAKEN
        }
        return {
            **config,
            "mi_weight": self.mi_weight,
            "tc_weight": self.tc_weight,
            "dim_kl_weight": self.dim_kl_weight,
            "tc_estimator": self.tc_estimator,
        }


def _build(config, image_shape, common):
    networks = build_encoder_decoder(
        config.architecture, config.latent_dim, image_shape, common["num_classes"]
    )
    return BetaTCVAE(
        *networks,
        mi_weight=config.mi_weight,
        tc_weight=config.tc_weight,
        dim_kl_weight=config.dim_kl_weight,
        tc_estimator=config.tc_estimator,
        z_log_var_clip=config.z_log_var_clip,
        **common,
    )


def _check(config):
    if config.batch_size < 2:
        raise ValueError(
            "beta_tcvae estimates q(z) from the other posteriors of the batch: batch_size must "
            f"be at least 2; got {config.batch_size}."
        )


register_variant(
    Variant(
        name="beta_tcvae",
        description="beta-TCVAE (Chen et al., 2018, Isolating Sources of Disentanglement in "
        "VAEs): the KL split into index-code MI, total correlation and dimension-wise KL, "
        "each weighted",
        model_class=BetaTCVAE,
        build=_build,
        settings={
            "mi_weight": setting(
                1.0, "beta_tcvae: weight (alpha) of the index-code mutual information.", WEIGHT
            ),
            "tc_weight": setting(
                6.0,
                "beta_tcvae: weight (beta) of the total correlation; 1, with mi_weight and "
                "dim_kl_weight at 1, trains on the VAE's ELBO.",
                WEIGHT,
            ),
            "dim_kl_weight": setting(
                1.0, "beta_tcvae: weight (gamma) of the dimension-wise KL.", WEIGHT
            ),
            "tc_estimator": setting(
                "mss",
                "beta_tcvae: the minibatch estimator of q(z) and its marginals: mss (stratified "
                "sampling, weights that sum to 1) or mws (weighted sampling, biased low by about "
                "log batch_size per density).",
                TC_ESTIMATOR,
            ),
        },
        takes=("z_log_var_clip",),
        check=_check,
        refusal="the beta_tcvae model weighs the KL's three parts itself (tc_weight is its "
        "beta), with one code per image against N(0, I) and no KL schedule",
    )
)
