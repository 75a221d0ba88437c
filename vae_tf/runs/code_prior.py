"""A VQ-VAE run's second stage: its PixelCNN prior, trained on the codes of the training images.

After the VQ-VAE's epochs (and its best epoch put in place), `train` encodes
one pass of the training images (with `steps_per_epoch`, that many batches
of them), and the validation images, into their maps of codebook indices, and fits the model's `CodePixelCNN` prior on them for
`prior_epochs` (`--prior_epochs`): the maximum likelihood of the maps, whose
`prior_loss` is `-log p(c)` in nats per map. The encoder and codebook do not
move.

The stage is a run of its own inside the run: its checkpoints (the prior's
weights and optimizer, exact to the step) in `checkpoint/prior`, its
history in `prior_history.csv`, its TensorBoard run in `logs/prior`. A
signal stops it at a step with a checkpoint there, and the same command
resumes it at that step; the model written afterwards (vae.keras, the
SavedModel) holds the trained prior. A finished run resumed with more epochs
trains its prior again on the new codes, from the old prior's weights.

Example:

```python
result = vae_tf.train(TrainConfig(model="vq_vae", latent_dim=16, codebook_size=64,
                                  epochs=10, prior_epochs=10))
result.model.sample(16, seed=0)        # images decoded from the trained prior's codes
```
"""

import os

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from vae_tf.callbacks import EpochTimer
from vae_tf.callbacks import StepProgressBar
from vae_tf.callbacks import StopOnNonFiniteLoss
from vae_tf.callbacks import StopOnSignal
from vae_tf.callbacks import TrainingCheckpoint
from vae_tf.data import passes
from vae_tf.models.code_prior import CodePixelCNN
from vae_tf.models.objective import LossTerm
from vae_tf.models.objective import batch_objective
from vae_tf.runs.artifacts import LOGS_DIR
from vae_tf.runs.artifacts import PRIOR_HISTORY_FILE
from vae_tf.runs.artifacts import HistoryLogger
from vae_tf.runs.artifacts import keep_history
from vae_tf.runs.artifacts import read_history

PRIOR_CHECKPOINT_DIR = "prior"  # inside the run's checkpoint folder
PRIOR_LOGS_DIR = os.path.join(LOGS_DIR, "prior")


class CodePriorTrainer(keras.Model):
    """Fits a `CodePixelCNN` on maps of indices: the batch's mean of `-log p(c)`, logged as `prior_loss`.

    The prior is frozen inside its VQ-VAE (the VQ-VAE's optimizer must not
    hold its weights); this model's own optimizer trains all of them. Data:
    index maps `(batch, h, w)`, or `(maps, labels)` for a conditional prior.

    Example:

    ```python
    trainer = CodePriorTrainer(vq_vae.prior)
    trainer.compile(optimizer="adam")
    trainer.fit(indices, epochs=10, batch_size=128)
    ```
    """

    def __init__(self, prior, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(prior, CodePixelCNN):
            raise TypeError(f"CodePriorTrainer fits a CodePixelCNN; got {type(prior).__name__}.")
        self.prior = prior
        self.prior_loss_tracker = keras.metrics.Mean(name="prior_loss")
        # Its only state is the prior's, built already (checkpoints save a built model).
        self.built = True

    @property
    def metrics(self):
        return [self.prior_loss_tracker]

    def _nll(self, data):
        if self.prior.num_classes is None:
            indices, condition = (data[0] if isinstance(data, tuple) else data), None
        else:
            indices, labels = data
            condition = ops.one_hot(ops.cast(labels, "int32"), self.prior.num_classes)
        return -self.prior.log_prob(indices, condition)

    def train_step(self, data):
        weights = self.prior.network.weights
        with tf.GradientTape() as tape:
            # Frozen in its VQ-VAE: the tape must be told of its weights.
            tape.watch([weight.value for weight in weights])
            objective, loss = batch_objective({"prior": LossTerm(self._nll(data))})
        self.optimizer.apply(tape.gradient(loss, weights), weights)
        self.prior_loss_tracker.update_state(objective)
        return {"prior_loss": self.prior_loss_tracker.result()}

    def test_step(self, data):
        objective, _ = batch_objective({"prior": LossTerm(self._nll(data))})
        self.prior_loss_tracker.update_state(objective)
        return {"prior_loss": self.prior_loss_tracker.result()}


def encode_indices(model, dataset, batches=None):
    """`(indices (N, h, w) int32, labels (N,) or None)` of a dataset of image batches.

    Example: `encode_indices(vq_vae, tf.data.Dataset.from_tensor_slices(x).batch(256))`.
    """
    if batches is not None:
        dataset = dataset.take(batches)
    maps, labels = [], []
    for batch in dataset:
        images, batch_labels = batch if isinstance(batch, tuple) else (batch, None)
        condition = None if batch_labels is None else model.condition(batch_labels)
        maps.append(ops.convert_to_numpy(model.posterior(images, condition).mean()))
        if batch_labels is not None:
            labels.append(np.asarray(batch_labels))
    return np.concatenate(maps), (np.concatenate(labels) if labels else None)


def _maps_dataset(indices, labels, batch_size, seed=None, first_pass=0):
    """The maps (and labels) in batches; shuffled anew at every pass from `first_pass` with `seed`."""
    indices = tf.constant(indices)
    labels = None if labels is None else tf.constant(labels)

    def make_batch(rows, key, index):
        maps = tf.gather(indices, rows)
        return maps if labels is None else (maps, tf.gather(labels, rows))

    return passes(
        len(indices),
        batch_size,
        make_batch,
        shuffle=seed is not None,
        seed=seed,
        first_pass=first_pass,
    )


def train_code_prior(config, strategy, model, data, staging, verbose, stop_on_signal):
    """Trains `model.prior` for `config.prior_epochs` on the codes of `data`; returns its history.

    Resumes from `staging/checkpoint/prior` where an interrupted call left
    it. `stop_on_signal`: the arguments of the run's `StopOnSignal` but the
    checkpoint. Returns None when there is no stage (another model, or
    `prior_epochs=0`).
    """
    epochs = config.prior_epochs
    if not epochs or not isinstance(model.prior, CodePixelCNN):
        return None
    checkpoint_dir = os.path.join(staging, "checkpoint", PRIOR_CHECKPOINT_DIR)
    history_path = os.path.join(staging, PRIOR_HISTORY_FILE)
    # A pass of the training images; with steps_per_epoch, as many batches
    # as an epoch of the VQ-VAE (the prior's epoch is then one pass over them).
    batches = min(data.batches_per_pass, config.steps_per_epoch or data.batches_per_pass)
    train = encode_indices(model, data.train_from(0), batches)
    validation = None
    if data.validation is not None:
        validation = _maps_dataset(*encode_indices(model, data.validation), config.batch_size)
    with strategy.scope():
        trainer = CodePriorTrainer(model.prior)
        trainer.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
        trainer.optimizer.build(model.prior.network.weights)
    checkpoint = TrainingCheckpoint(checkpoint_dir, restore=False)
    position = checkpoint.restore(trainer) or {"epoch": 0, "batch": 0}
    epoch, batch = position["epoch"], position["batch"]
    keep_history(history_path, epoch)
    if verbose and epoch < epochs:
        start = f", from epoch {epoch + 1}" if epoch or batch else ""
        start += f" step {batch + 1}" if batch else ""
        print(f"Training the PixelCNN prior over the codes for {epochs} epochs{start}.")
    checkpoint.first_batch = batch
    shown = os.path.join(stop_on_signal["shown_dir"], PRIOR_CHECKPOINT_DIR)
    callbacks = [
        EpochTimer(),
        StopOnNonFiniteLoss(),
        HistoryLogger(history_path, append=True),
        checkpoint,
        StepProgressBar(),
        keras.callbacks.TensorBoard(os.path.join(staging, PRIOR_LOGS_DIR)),
        StopOnSignal(checkpoint=checkpoint, **{**stop_on_signal, "shown_dir": shown}),
    ]
    fit = dict(validation_data=validation, callbacks=callbacks, shuffle=False, verbose=verbose)
    seed = config.seed or 0

    def maps_from(epoch, batch=0):
        # An epoch's order depends on (seed, epoch) only: the same when resumed.
        return _maps_dataset(*train, config.batch_size, seed=seed, first_pass=epoch).skip(batch)

    if batch:
        trainer.fit(maps_from(epoch, batch), initial_epoch=epoch, epochs=epoch + 1, **fit)
        epoch += 1
    if epoch < epochs:
        trainer.fit(maps_from(epoch), initial_epoch=epoch, epochs=epochs, **fit)
    return read_history(history_path)
