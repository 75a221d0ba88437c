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

LossTerms = collections.namedtuple("LossTerms", ["reconstruction", "kl_per_dimension"])
LossTerms.__doc__ = """Per-example terms of a batch, in nats.

`reconstruction`: `-log p(x|z)`, shape `(batch,)`; `kl_per_dimension`: the KL
term of each latent dimension, shape `(batch, latent_dim)` (zeros for a model
without one).
"""


def batch_objective(terms, kl_weight, free_bits=0.0):
    """`(objective, loss)`: the optimized objective of the batch and this replica's share.

    The objective is `mean(reconstruction) + kl_weight * kl_term`, with
    `kl_term = sum_j max(free_bits, mean_batch KL_j)` (without free bits,
    the batch mean of the summed KL). Under a strategy with several
    replicas the KL means are taken over the GLOBAL batch (all-reduced),
    and each replica's loss is its reconstructions summed and divided by
    the global batch size plus its `1 / replicas` share of the KL term:
    Keras sums the replicas' gradients, so the shares add up to the
    global objective exactly, also when replicas get unequal batches.
    The objective is then the global batch's, the same on every replica.
    On one device the loss is the objective.
    """
    reconstruction, kl_per_dimension = terms
    replica = tf.distribute.get_replica_context()
    replicas = 1 if replica is None else replica.num_replicas_in_sync
    if replicas == 1:
        kl_term = ops.sum(ops.maximum(ops.mean(kl_per_dimension, axis=0), free_bits))
        objective = ops.mean(reconstruction) + kl_weight * kl_term
        return objective, objective
    batch = ops.cast(ops.shape(reconstruction)[0], "float32")
    global_batch, global_reconstruction = ops.unstack(
        replica.all_reduce("sum", ops.stack([batch, ops.sum(reconstruction)]))
    )
    kl_means = replica.all_reduce("sum", ops.sum(kl_per_dimension, axis=0)) / global_batch
    kl_term = ops.sum(ops.maximum(kl_means, free_bits))
    # The same global value on every replica, finite even on a replica
    # left without examples by a small last batch.
    objective = global_reconstruction / global_batch + kl_weight * kl_term
    loss = ops.sum(reconstruction) / global_batch + kl_weight * kl_term / replicas
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
