"""Ctrl-C and SIGTERM that stop a training at a checkpoint, with one line saying so.

A signal during `fit` would lose the steps since the last checkpoint. The
process policy (`SignalCatcher` records the first SIGINT or SIGTERM instead
of raising; a second one ends the process at once) is
`vae_tf.utils.signals`. Here, the training's side of it:

- `StopOnSignal`, the last callback of `fit`, sees the signal when the
  current compiled call returns, writes a checkpoint at that exact step and
  raises `TrainingInterrupted`, whose message says where it stopped and how
  to resume. Under `MultiWorkerMirroredStrategy` the workers agree at every
  step, so they all stop at the same one.

Example:

```python
checkpoint = TrainingCheckpoint("run/checkpoint")
with SignalCatcher() as catcher:
    vae.fit(dataset, epochs=30,
            callbacks=[checkpoint, StopOnSignal(catcher, checkpoint)])
# Ctrl-C: TrainingInterrupted("Interrupted in epoch 3 at step 1,234: saved a
# checkpoint in run/checkpoint; run the same command to resume.")
```
"""

import signal

import keras
import tensorflow as tf

from vae_tf import distribute
from vae_tf.utils.signals import SIGNAL_NAMES
from vae_tf.utils.signals import Interrupted


class TrainingInterrupted(Interrupted):
    """A training stopped by a signal at `position` `{"epoch", "batch", "step"}`, checkpointed there."""

    def __init__(self, message, signal_number, position):
        super().__init__(message, signal_number)
        self.position = position


def worker_votes(strategy):
    """A function summing a vector of votes over the workers (a collective: all must call it)."""

    @tf.function
    def agree(votes):
        return strategy.reduce(
            tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.identity(votes)), axis=None
        )

    return agree


class StopOnSignal(keras.callbacks.Callback):
    """Stops `fit` at the step a signal arrived during, checkpointed, with one line.

    Put it last among the callbacks, after `checkpoint`, so that every other
    callback has finished the step. At a step inside an epoch it saves a
    checkpoint at once; at an epoch's last step it lets the validation, the
    history row and the epoch's checkpoint finish first. Then it raises
    `TrainingInterrupted`: "Interrupted in epoch 3 at step 1,234: saved a
    checkpoint in <shown_dir>; <resume_hint>." Under a multi-worker
    strategy, every worker sends its vote at every step and all stop at the
    same one (SIGTERM wins over SIGINT: a preemption is coming).

    Args:
        catcher: The `vae_tf.utils.signals.SignalCatcher` whose block `fit` runs in.
        checkpoint: The run's `TrainingCheckpoint`.
        shown_dir: The checkpoint folder the message names (default: the
            checkpoint's own; a worker that is not the chief names the
            chief's).
        resume_hint: How to go on, for the message.
    """

    def __init__(
        self, catcher, checkpoint, shown_dir=None, resume_hint="run the same command to resume"
    ):
        super().__init__()
        self.catcher = catcher
        self.checkpoint = checkpoint
        self.shown_dir = shown_dir or checkpoint.backup_dir
        self.resume_hint = resume_hint
        self._agree = None
        self._pending = None

    def on_train_begin(self, logs=None):
        # The model's: callbacks run outside the strategy's scope.
        strategy = self.model.distribute_strategy
        if distribute.num_workers(strategy) > 1:
            self._agree = worker_votes(strategy)

    def _signal(self):
        """The signal to stop for (agreed by every worker), or None."""
        if self._agree is None:
            return self.catcher.received
        votes = [float(self.catcher.received == s) for s in (signal.SIGINT, signal.SIGTERM)]
        sigint, sigterm = self._agree(tf.constant(votes)).numpy()
        return signal.SIGTERM if sigterm else signal.SIGINT if sigint else None

    def on_train_batch_end(self, batch, logs=None):
        signal_number = self._signal()
        if signal_number is None or self._pending:
            return
        if batch + 1 == self.params.get("steps"):
            # The epoch's last step: its validation, history row and
            # checkpoint come first.
            self._pending = signal_number
            return
        position = self.checkpoint.save()
        self._stop(
            signal_number,
            position,
            f"in epoch {position['epoch'] + 1} at step {position['step']:,}",
        )

    def on_epoch_end(self, epoch, logs=None):
        # A signal during validation counts too (the workers vote again).
        signal_number = self._signal() or self._pending
        if signal_number is not None:
            self._stop_at_epoch_end(signal_number)

    def on_train_end(self, logs=None):
        # A signal between the last epoch's end and the end of fit.
        signal_number = self._signal()
        if signal_number is not None:
            self._stop_at_epoch_end(signal_number)

    def _stop_at_epoch_end(self, signal_number):
        position = self.checkpoint.save()  # usually saved already, by the checkpoint itself
        self._stop(
            signal_number,
            position,
            f"at the end of epoch {position['epoch']} (step {position['step']:,})",
        )

    def _stop(self, signal_number, position, where):
        raise TrainingInterrupted(
            f"{SIGNAL_NAMES[signal_number]} {where}: saved a checkpoint in {self.shown_dir}; "
            f"{self.resume_hint}.",
            signal_number,
            position,
        )
