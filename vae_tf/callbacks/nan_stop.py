"""Stops training at the first non-finite loss, naming the epoch and the step.

Example:

```python
vae.fit(train_ds, epochs=30, callbacks=[StopOnNonFiniteLoss(), TrainingCheckpoint("ckpt")])
```
"""

import keras
import numpy as np

from vae_tf.callbacks.checkpoint import training_step


class StopOnNonFiniteLoss(keras.callbacks.TerminateOnNaN):
    """`TerminateOnNaN(raise_error=True)` whose error names the epoch and the step.

    Raises `FloatingPointError` at the end of the first batch whose training
    loss is NaN or infinite. Put it before a checkpoint callback in the
    list: the raise then comes before the bad weights are saved, and the
    last checkpoint stays the last good one.
    """

    def __init__(self):
        super().__init__(raise_error=True)
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            raise FloatingPointError(
                f"The training loss became {float(loss)} in epoch {self._epoch + 1} "
                f"(by training step {training_step(self.model)})."
            )
