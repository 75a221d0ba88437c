"""Named per-example loss terms, and the batch objective they make, on one device or many.

Every model variant hands the ONE training step its terms: a dict
`{name: LossTerm}` from `loss_terms(images, condition, training)`. The step
adds up the optimized ones (`batch_objective`), the same on one device and
under any `tf.distribute` strategy, and logs every named one as the metric
`<name>_loss` (so history.csv, TensorBoard and the loss figure follow the
names); `total_loss` is the sum of the terms that make up the negative ELBO.

Example:

```python
terms = {
    "reconstruction": LossTerm(reconstruction),                   # (batch,)
    "kl": LossTerm(kl_per_dimension, weight=kl_weight, floor=0.0), # (batch, latent_dim)
}
objective, loss = batch_objective(terms)
```
"""

import dataclasses
from typing import Any
from typing import Optional

import tensorflow as tf
from keras import ops


@dataclasses.dataclass
class LossTerm:
    """One named term of a variant's objective, per example, in nats.

    Args:
        value: `(batch,)`, or per dimension of the code (a KL term),
            `(batch, d)` or `(batch, h, w, c)`, summed per example.
        weight: Its weight in the optimized objective (a number or a
            variable, such as the KL weight that schedules drive).
        optimized: Whether it enters the optimized objective (False: logged
            only, e.g. the ELBO's terms of a model trained on another bound).
        in_total: Whether it is part of the negative ELBO reported as
            `total_loss` (reconstruction and KL are; a penalty is not).
        logged: Whether it is logged as the metric `<name>_loss`.
        floor: Free bits: the objective then takes
            `sum_j max(floor, mean_batch value_j)` of the per-dimension
            values, over the global batch.
        trains: The name of the auxiliary network this term is the
            objective of (a key of the model's `auxiliary_networks`, such as
            FactorVAE's discriminator), trained by that network's own
            optimizer in the same step; None (the default): the model's.
    """

    value: Any
    weight: Any = 1.0
    optimized: bool = True
    in_total: bool = True
    logged: bool = True
    floor: Optional[float] = None
    trains: Optional[str] = None

    def per_example(self):
        """The term of each example, `(batch,)`."""
        if len(self.value.shape) == 1:
            return self.value
        return ops.sum(self.value, axis=tuple(range(1, len(self.value.shape))))


def _replica_context():
    replica = tf.distribute.get_replica_context()
    if replica is None or replica.num_replicas_in_sync == 1:
        return None
    return replica


def global_batch_size(per_example):
    """The number of examples in the step: the global batch under a strategy, as float32.

    For terms that need it (a minibatch estimator weighs a batch by the
    dataset size over it): on every replica it is the sum of all replicas'
    batches.
    """
    batch = ops.cast(ops.shape(per_example)[0], "float32")
    replica = _replica_context()
    return batch if replica is None else replica.all_reduce("sum", batch)


def gather_batch(values):
    """`(global_values, offset)`: every replica's `values` concatenated, and where this one's begin.

    For a term whose examples interact, such as a minibatch estimate of the
    aggregate posterior or a permutation of the batch's codes: under a
    strategy each replica computes it over the GLOBAL batch, in the order of
    one device (replica 0's examples first), and keeps the rows
    `offset:offset + batch` of its own examples. The gather is
    differentiable: the gradients of the other replicas' rows flow back to
    the replica that made them, so the summed gradients are those of one
    device. On one device: `(values, 0)`.
    """
    replica = _replica_context()
    if replica is None:
        return values, 0
    sizes = replica.all_gather(tf.shape(values)[:1], axis=0)
    offset = ops.sum(sizes[: replica.replica_id_in_sync_group])
    return replica.all_gather(values, axis=0), offset


def total(terms):
    """The per-example negative ELBO, `(batch,)`: the sum of the terms `in_total`."""
    parts = [term.per_example() for term in terms.values() if term.in_total]
    return sum(parts[1:], parts[0])


def batch_objective(terms):
    """`(objective, loss)`: the optimized objective of the batch and this replica's share.

    The objective is the sum over the optimized terms of
    `weight * mean_batch(term)`, or, for a term with a `floor`,
    `weight * sum_j max(floor, mean_batch term_j)`. Under a strategy with
    several replicas the means are over the GLOBAL batch (one all-reduce
    of the sums), and each replica's loss is its share: its per-example
    sums divided by the global batch size, plus `1 / replicas` of each
    floored term. Keras sums the replicas' gradients, so the shares add up
    to the global objective exactly, also when replicas get unequal
    batches. The objective is then the global batch's, the same on every
    replica. On one device the loss is the objective.
    """
    optimized = [term for term in terms.values() if term.optimized]
    if not optimized:
        raise ValueError("The loss terms hold no optimized term: nothing to train.")
    replica = _replica_context()
    if replica is None:
        objective = 0.0
        for term in optimized:
            objective = objective + term.weight * _reduced(term, _batch_means(term))
        return objective, objective
    # One all-reduce: the batch size, each plain term's sum and each floored
    # term's per-dimension sums.
    first = optimized[0].value
    parts = [ops.reshape(ops.cast(ops.shape(first)[0], "float32"), (1,))]
    for term in optimized:
        value = ops.cast(term.value if term.floor is not None else term.per_example(), "float32")
        parts.append(ops.reshape(ops.sum(value, axis=0), (-1,)))
    sizes = [1] + [int(part.shape[0]) for part in parts[1:]]
    reduced = replica.all_reduce("sum", ops.concatenate(parts, axis=0))
    global_batch, *sums = ops.split(reduced, _offsets(sizes), axis=0)
    global_batch = global_batch[0]
    replicas = replica.num_replicas_in_sync
    # The same global value on every replica, finite even on a replica left
    # without examples by a small last batch.
    objective, loss = 0.0, 0.0
    for term, global_sum in zip(optimized, sums):
        term_objective = term.weight * _reduced(term, global_sum / global_batch)
        objective = objective + term_objective
        if term.floor is None:
            loss = loss + term.weight * ops.sum(term.per_example()) / global_batch
        else:
            loss = loss + term_objective / replicas
    return objective, loss


def _offsets(sizes):
    offsets, position = [], 0
    for size in sizes[:-1]:
        position += size
        offsets.append(position)
    return offsets


def _batch_means(term):
    if term.floor is None:
        return ops.mean(term.per_example())
    return ops.mean(term.value, axis=0)


def _reduced(term, means):
    """A term's share of the objective from its batch mean(s)."""
    if term.floor is None:
        return ops.sum(means)
    return ops.sum(ops.maximum(means, term.floor))


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
