"""Keras' progress bar, counting the steps of an epoch right with several steps per call.

Keras reports each compiled call by the index of its last step as if every
call ran `steps_per_execution` steps, so an epoch of 469 steps at 10 per call
ends its bar at "470/469". `StepProgressBar` caps the count at the epoch's
steps; `vae_tf.train` passes it to `fit`, which then adds no bar of its own.

Example:

>>> vae.compile(optimizer="adam", steps_per_execution=10)
>>> vae.fit(x_train, batch_size=128, callbacks=[StepProgressBar()])   # ends at 469/469
"""

import keras


class StepProgressBar(keras.callbacks.ProgbarLogger):
    """`keras.callbacks.ProgbarLogger` whose count never passes the epoch's steps."""

    def _capped(self, batch):
        # `target`: the steps of the epoch (ProgbarLogger.set_params), or None
        # until a first pass over data of unknown length has counted them.
        return batch if not self.target else min(batch, self.target - 1)

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(self._capped(batch), logs)

    def on_test_batch_end(self, batch, logs=None):
        super().on_test_batch_end(self._capped(batch), logs)

    def on_predict_batch_end(self, batch, logs=None):
        super().on_predict_batch_end(self._capped(batch), logs)
