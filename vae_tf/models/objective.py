"""The batch objective from per-example loss terms, on one device or across replicas.

Every model variant hands the ONE training step its per-example terms
(`LossTerms`); this module turns them into the number that is optimized, the
same on one device and under any `tf.distribute` strategy.

Example:

```python
terms = LossTerms(reconstruction, kl_per_dimension)      # (batch,), (batch, latent_dim)
objective, loss = batch_objective(terms, kl_weight=1.0, free_bits=0.0)
```
"""

import collections

import tensorflow as tf
from keras import ops

LossTerms = collections.namedtuple(
    "LossTerms", ["reconstruction", "kl_per_dimension", "bound"], defaults=(None,)
)
LossTerms.__doc__ = """Per-example terms of a batch, in nats.

`reconstruction`: `-log p(x|z)`, shape `(batch,)` (the mean over the samples
of z when there are several); `kl_per_dimension`: the KL term of each latent
dimension, shape `(batch, latent_dim)` (zeros for a model without one), or
`(batch, 1)` for a Monte Carlo estimate `log q(z|x) - log p(z)` that does not
split by dimension (priors without a closed form). Their sum is the
negative ELBO the metrics report.

`bound`: optional, `(batch,)`: a per-example objective that replaces
`reconstruction + kl_weight * KL`, such as the negative importance-weighted
bound (Burda et al., 2015), with the KL weight already inside it.
"""


def batch_objective(terms, kl_weight, free_bits=0.0):
    """`(objective, loss)`: the optimized objective of the batch and this replica's share.

    The objective is `mean(reconstruction) + kl_weight * kl_term`, with
    `kl_term = sum_j max(free_bits, mean_batch KL_j)` (without free bits,
    the batch mean of the summed KL); or, when the terms carry a `bound`,
    `mean(bound)` (which holds its KL weight itself; free bits do not
    apply). Under a strategy with several
    replicas the KL means are taken over the GLOBAL batch (all-reduced),
    and each replica's loss is its reconstructions summed and divided by
    the global batch size plus its `1 / replicas` share of the KL term:
    Keras sums the replicas' gradients, so the shares add up to the
    global objective exactly, also when replicas get unequal batches.
    The objective is then the global batch's, the same on every replica.
    On one device the loss is the objective.
    """
    reconstruction, kl_per_dimension, bound = terms
    # A bound is one per-example term; reconstruction and KL are two, of
    # which only the reconstruction is per example in the reduction below.
    per_example = reconstruction if bound is None else bound
    replica = tf.distribute.get_replica_context()
    replicas = 1 if replica is None else replica.num_replicas_in_sync
    if replicas == 1:
        objective = ops.mean(per_example)
        if bound is None:
            kl_term = ops.sum(ops.maximum(ops.mean(kl_per_dimension, axis=0), free_bits))
            objective = objective + kl_weight * kl_term
        return objective, objective
    batch = ops.cast(ops.shape(per_example)[0], "float32")
    global_batch, global_sum = ops.unstack(
        replica.all_reduce("sum", ops.stack([batch, ops.sum(per_example)]))
    )
    # The same global value on every replica, finite even on a replica
    # left without examples by a small last batch.
    objective = global_sum / global_batch
    loss = ops.sum(per_example) / global_batch
    if bound is None:
        kl_means = replica.all_reduce("sum", ops.sum(kl_per_dimension, axis=0)) / global_batch
        kl_term = ops.sum(ops.maximum(kl_means, free_bits))
        objective = objective + kl_weight * kl_term
        loss = loss + kl_weight * kl_term / replicas
    return objective, loss


def step_logs(logs):
    """A step's logs, shaped so that Keras can reduce them under any strategy.

    Keras 3 (up to 3.15 at least) reduces the logs of a multi-worker step
    with `strategy.reduce("MEAN", value, axis=0)`, which fails on scalars
    (tensorflow/tensorflow#72388); the synchronized metric results of shape
    (1,) reduce to the same scalar.
    """
    strategy = tf.distribute.get_strategy()
    if not (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    ):
        return logs
    return {name: ops.reshape(value, (1,)) for name, value in logs.items()}
