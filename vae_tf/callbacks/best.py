"""The weights of the best epoch so far, kept whole beside a run's checkpoints.

Keras' `ModelCheckpoint(save_best_only=True)` rewrites one file in place and
`EarlyStopping(restore_best_weights=True)` keeps the weights in memory: a
crash loses the best epoch, or leaves half a file. Here the best epoch's
weights (with the optimizer's and the Sampler's state, as in a checkpoint)
are written under a name of their own, `best-<epoch>.weights.h5`, and
`best.json` names them, replaced last: a kill at any moment leaves the
previous best whole and named.

Example:

```python
best = BestCheckpoint("run/checkpoint")        # monitors val_total_loss
vae.fit(train_ds, epochs=30, validation_data=val_ds, callbacks=[best])
best.record        # {"epoch": 27, "val_total_loss": 89.02, "weights": ".../best-000027.weights.h5"}
best.restore(vae)  # the weights of epoch 27
```
"""

import glob
import math
import os
import warnings

import keras

from vae_tf.callbacks.checkpoint import load_training_state
from vae_tf.utils.files import DamagedFileError
from vae_tf.utils.files import quiet_h5py_cleanup
from vae_tf.utils.files import read_json
from vae_tf.utils.files import write_json

# What "best" means: the validation negative ELBO, comparable across
# objectives and values of beta (the optimized `val_loss` is not).
MONITOR = "val_total_loss"
RECORD_FILE = "best.json"


class BestCheckpoint(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the lowest `monitor`, crash-proof, in `directory`.

    At the end of every epoch whose `monitor` (from the validation) is finite
    and lower than the best so far (ties keep the earlier epoch), it writes
    the model's weights, optimizer and noise state as
    `best-<epoch>.weights.h5` (under a temporary name, renamed), then
    `best.json` (`{"epoch", monitor, "weights"}`, the epoch counted from 1),
    then deletes the previous best's file. A record found in `directory`
    when it is made is the best so far (a resumed run's). Put it after the
    run's `TrainingCheckpoint`: an epoch is then checkpointed before it can
    be the best, and a resume from that checkpoint finds a best no newer
    than its position.

    Args:
        directory: The folder of the files (the run's checkpoint folder).
        monitor: The log to minimize.
    """

    def __init__(self, directory, monitor=MONITOR):
        super().__init__()
        self.directory = directory
        self.monitor = monitor
        self.record = self.read(directory, monitor)

    @staticmethod
    def read(directory, monitor=MONITOR):
        """The record `{"epoch", monitor, "weights"}` of `directory`'s best epoch, or None.

        A damaged `best.json`, or one whose weights file is missing, is no
        record (with a warning): the next best epoch writes a new one.
        """
        path = os.path.join(directory, RECORD_FILE)
        if not os.path.isfile(path):
            return None
        try:
            record = read_json(path)
            weights = os.path.join(directory, record["weights"])
            record = {"epoch": int(record["epoch"]), monitor: float(record[monitor])}
        except (DamagedFileError, KeyError, TypeError, ValueError) as error:
            warnings.warn(f"{path} cannot be read ({error}): the best epoch so far is forgotten.")
            return None
        if not os.path.isfile(weights):
            warnings.warn(f"{weights}, named by {path}, is missing: the best epoch is forgotten.")
            return None
        return {**record, "weights": weights}

    def better(self, value):
        """Whether `value` of `monitor` beats the best so far (a finite value, strictly lower)."""
        if value is None or not math.isfinite(float(value)):
            return False
        return self.record is None or float(value) < self.record[self.monitor]

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if self.better(value):
            self.save(epoch + 1, value)

    def offer(self, model, epoch, value):
        """Keeps `model`'s weights as those of `epoch` (counted from 1) if `value` is better; returns whether."""
        if not self.better(value):
            return False
        self.save(epoch, value, model)
        return True

    def save(self, epoch, value, model=None):
        """Writes `model`'s (default: the fitted one's) weights as the best, of `epoch` with `value`.

        The new pair appears whole or not at all: a failed write (a full
        disk) removes what it wrote and the previous best stays.
        """
        model = model or self.model
        name = f"best-{epoch:06d}.weights.h5"
        weights = os.path.join(self.directory, name)
        partial = os.path.join(self.directory, f"best-{epoch:06d}.partial.weights.h5")
        old = self.record["weights"] if self.record else None
        os.makedirs(self.directory, exist_ok=True)
        try:
            # Keras insists on the .weights.h5 ending, so no atomic_path here.
            with quiet_h5py_cleanup():
                model.save_weights(partial)
            os.replace(partial, weights)
            write_json(
                {"epoch": epoch, self.monitor: float(value), "weights": name},
                os.path.join(self.directory, RECORD_FILE),
            )
        except BaseException:
            for path in (partial, weights):
                if path != old and os.path.exists(path):
                    os.remove(path)
            raise
        self.record = {"epoch": epoch, self.monitor: float(value), "weights": weights}
        for other in glob.glob(os.path.join(self.directory, "best-*.weights.h5")):
            if other != weights:
                os.remove(other)

    def forget(self):
        """Deletes the record and its weights (a resume from before the best epoch)."""
        record = os.path.join(self.directory, RECORD_FILE)
        if os.path.exists(record):
            os.remove(record)
        for path in glob.glob(os.path.join(self.directory, "best-*.weights.h5")):
            os.remove(path)
        self.record = None

    def restore(self, model=None):
        """Loads the best epoch's weights (and optimizer and noise state) into `model`; returns its record.

        Raises:
            ValueError: when there is no best epoch yet.
            DamagedFileError: when its weights file cannot be read.
        """
        if self.record is None:
            raise ValueError(f"No best epoch in {self.directory} yet.")
        load_training_state(model or self.model, self.record["weights"])
        return self.record
