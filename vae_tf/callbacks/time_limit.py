"""A wall-clock budget for `fit`: stop at the end of the last epoch that fits in it.

Example:

```python
limit = TimeLimit(8 * 3600, epochs=500)
vae.fit(train_ds, epochs=500, validation_data=val_ds, callbacks=[limit])
limit.stopped_epoch        # e.g. 312: stopped after 312 epochs; None: ran them all
```
"""

import time

import keras
import tensorflow as tf

from vae_tf import distribute
from vae_tf.callbacks.interrupt import worker_votes
from vae_tf.utils.progress import format_duration


def now():
    """The clock of time limits (monotonic seconds); tests replace it."""
    return time.monotonic()


class TimeLimit(keras.callbacks.Callback):
    """Ends `fit` at the end of the last epoch that fits in a wall-clock budget.

    At the end of every epoch (its validation included), it compares the
    time spent since `started` plus the duration of the epoch just done
    (from the previous epoch's end, every callback's work included: the best
    guess of the next epoch's, on a machine whose load changes) with
    `seconds`: when the next epoch would end past the budget, it sets
    `model.stop_training` and Keras ends `fit` after this epoch, its history
    row and its checkpoint written. Whole epochs only: the history, the
    validation and the choice of a best epoch are per epoch, and a stop
    inside one would throw away its steps when the run is written. An
    epoch slower than the one before can thus end past the budget, by the
    difference; a first epoch longer than the whole budget always ends.
    Under a multi-worker strategy the workers agree (any one's stop stops
    them all), as with `StopOnSignal`. Use one callback for the several
    `fit` calls of one training (a resumed epoch's rest, then the others).

    Args:
        seconds: The budget.
        epochs: The training's last epoch (1-based), where no stop is needed.
        started: When the budget began, in `now()`'s seconds (default: the
            first `fit`'s start).
        label: The budget as the user wrote it ("8h"), for messages.
        verbose: Print one line when it stops the training.

    Attributes:
        stopped_epoch: The epochs done when it stopped `fit`, or None.
        elapsed: The seconds spent from `started` to the last epoch's end.
    """

    def __init__(self, seconds, epochs, started=None, label=None, verbose=0):
        super().__init__()
        self.seconds = float(seconds)
        self.epochs = epochs
        self.started = started
        self.label = label or format_duration(self.seconds)
        self.verbose = verbose
        self.stopped_epoch = None
        self.elapsed = None
        self._mark = None
        self._agree = None

    def on_train_begin(self, logs=None):
        if self.started is None:
            self.started = now()
        self._mark = now()
        strategy = self.model.distribute_strategy
        if distribute.num_workers(strategy) > 1:
            self._agree = worker_votes(strategy)

    def on_epoch_end(self, epoch, logs=None):
        moment = now()
        last_epoch, self._mark = moment - self._mark, moment
        self.elapsed = moment - self.started
        if epoch + 1 >= self.epochs:
            return
        stop = self.elapsed + last_epoch > self.seconds
        if self._agree is not None:
            stop = bool(self._agree(tf.constant([float(stop)])).numpy()[0])
        if not stop:
            return
        self.model.stop_training = True
        self.stopped_epoch = epoch + 1
        if self.verbose:
            print(
                f"\nTime limit {self.label}: stopping after epoch {epoch + 1} of {self.epochs} "
                f"({format_duration(self.elapsed)} spent; the last epoch took "
                f"{format_duration(last_epoch)})."
            )
