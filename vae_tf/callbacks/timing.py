"""Wall-clock time of training epochs, in the logs.

Example:

>>> history = vae.fit(x_train, epochs=3, callbacks=[EpochTimer()])
>>> history.history["epoch_seconds"]
"""

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` (wall time of the epoch, validation included) to the logs."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start
