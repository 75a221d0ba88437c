"""Exact checkpoints: weights, optimizer and noise state, at a position to the step.

Example:

```python
checkpoint = TrainingCheckpoint("run/checkpoint", save_freq=500)  # and every epoch
vae.fit(train_ds, epochs=30, callbacks=[StopOnNonFiniteLoss(), checkpoint])
# Killed? The same fit call restores the weights, optimizer, noise and epoch.
```
"""

import glob
import os
import warnings

import keras

from vae_tf.utils.files import DamagedFileError
from vae_tf.utils.files import check_keras_archive
from vae_tf.utils.files import first_line
from vae_tf.utils.files import quiet_h5py_cleanup
from vae_tf.utils.files import read_json
from vae_tf.utils.files import write_json

# The checkpoints kept: the newest, and the one before it in case the newest
# is damaged after it was written (a disk fault, a copy cut short).
KEPT = 2


def training_step(model):
    """The global training step (a MirroredVariable under strategies: read its value)."""
    return int(model.optimizer.iterations.value.numpy())


def load_training_state(model, path):
    """Loads weights, optimizer state and noise state from a .weights.h5 or .keras file.

    The optimizer is built first: an unbuilt one would skip its saved state.

    Raises:
        DamagedFileError: if the file is truncated or not what its name says.
    """
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    fix = "delete it, or start afresh with overwrite=True"
    if path.endswith(".keras"):
        check_keras_archive(path, fix)
    try:
        model.load_weights(path)
    except (OSError, KeyError) as error:
        # h5py's words for a cut-short file ("truncated file", "bad object
        # header") or a file of other weights.
        raise DamagedFileError(path, first_line(error), fix) from None


class TrainingCheckpoint(keras.callbacks.BackupAndRestore):
    """Keras' `BackupAndRestore`, made crash-proof and exact to the step.

    Saves the model's weights, the optimizer's state and the Sampler's noise
    state at the end of every epoch and, if `save_freq` is an integer, every
    `save_freq` training steps; a new `fit` with this callback restores the
    latest checkpoint. Unlike Keras 3.15's callback:

    - a checkpoint is a pair `step-<n>.weights.h5` + `step-<n>.json`, each
      written under a temporary name and renamed, the JSON last, and only
      then are pairs older than the previous one deleted: a kill or a full
      disk at any moment leaves the previous checkpoint whole (Keras
      rewrites `latest.weights.h5` in place), and a newest weights file
      damaged afterwards falls back to the one before, with a warning;
    - the JSON records the position `{"epoch", "batch", "step"}` (epoch
      index, steps done in it, global step), and `position` exposes the
      restored one, so a caller can resume in the middle of an epoch (Keras
      restarts the epoch from its first batch, on weights that have already
      seen some of it);
    - epochs and batches are counted from the restored position (Keras
      records epoch 0 until the first epoch of a resumed run ends).

    Mid-epoch positions need the caller's help: `fit` restarts epochs at their
    first batch, so `vae_tf.train` finishes a resumed epoch with a shorter
    `fit` on the rest of its batches (`first_batch`). The checkpoint is
    kept after training unless `delete_checkpoint`.

    Args:
        backup_dir: Folder of the checkpoints (created on the first save).
        save_freq: `"epoch"`, or an integer: also save every this many steps.
        delete_checkpoint: Delete the checkpoints when `fit` ends normally.
        restore: Restore when training begins, as Keras does; False when the
            caller restores (`restore`) and sets `first_batch` itself.
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=False, restore=True):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint)
        self.position = None
        self.first_batch = 0
        self._restored = not restore

    @staticmethod
    def checkpoints(directory):
        """The positions `{"epoch", "batch", "step", "weights"}` of `directory`'s checkpoints, newest first.

        A pair whose JSON is missing or damaged does not count (its write
        was cut short).
        """
        found = []
        for metadata in sorted(glob.glob(os.path.join(directory, "step-*.json")), reverse=True):
            if metadata.endswith(".partial.json"):
                continue
            weights = metadata[: -len(".json")] + ".weights.h5"
            try:
                position = read_json(metadata)
            except FileNotFoundError:  # replaced by a newer one as we looked
                continue
            except DamagedFileError as error:
                warnings.warn(f"{error} (skipped)")
                continue
            if os.path.isfile(weights):
                found.append({**position, "weights": weights})
        return found

    @classmethod
    def latest(cls, directory):
        """The position `{"epoch", "batch", "step", "weights"}` of `directory`'s latest checkpoint, or None."""
        found = cls.checkpoints(directory)
        return found[0] if found else None

    def restore(self, model=None):
        """Loads the latest whole checkpoint into `model` (default: the fitted one); returns its position.

        A damaged newest weights file falls back to the checkpoint before it,
        with a warning. Returns None, and changes nothing, when there is no
        checkpoint.

        Raises:
            DamagedFileError: if no checkpoint can be read.
        """
        model = model or self.model
        self._restored = True
        found = self.checkpoints(self.backup_dir)
        if not found:
            return None
        for index, position in enumerate(found):
            try:
                load_training_state(model, position["weights"])
            except DamagedFileError as error:
                if index + 1 == len(found):
                    raise DamagedFileError(
                        position["weights"],
                        error.problem,
                        "no earlier checkpoint can be read either; delete "
                        f"{self.backup_dir} to start afresh, or pass overwrite=True",
                    ) from None
                warnings.warn(f"{error} Resuming from the checkpoint before it instead.")
                # Without its JSON it no longer counts, so the saves that follow
                # are the newest again, and it goes with the next clean-up.
                os.remove(position["weights"][: -len(".weights.h5")] + ".json")
                continue
            break
        self.position = {key: value for key, value in position.items() if key != "weights"}
        self._current_epoch = position["epoch"]
        self.first_batch = position["batch"]
        return self.position

    def on_train_begin(self, logs=None):
        if not self._restored and self.restore() is not None:
            self.model._initial_epoch = self.position["epoch"]
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1  # Keras' counter then counts a first call whole.

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch
        self._batches_done = self.first_batch

    def on_train_batch_end(self, batch, logs=None):
        self._batches_done = self.first_batch + batch + 1
        if self._should_save_on_batch(batch) and batch + 1 != self.params.get("steps"):
            # The end of an epoch is saved once its history row is written.
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        self.first_batch = 0
        self._batches_done = 0
        self._current_epoch = epoch + 1
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1
        self.save()

    @property
    def saved_position(self):
        """The position `{"epoch", "batch", "step"}` of the last checkpoint this callback wrote, or None."""
        return getattr(self, "_saved", None)

    def save(self):
        """Writes a checkpoint at the current position (if it is not saved yet); returns it.

        For a caller that must stop between Keras' saves (a signal). The
        pair appears whole or not at all: a failed write (a full disk)
        removes what it wrote, and the checkpoints before stay.
        """
        step = training_step(self.model)
        position = {"epoch": self._current_epoch, "batch": self._batches_done, "step": step}
        if self.saved_position == position:
            return position
        stem = os.path.join(self.backup_dir, f"step-{step:012d}")
        weights, partial = stem + ".weights.h5", stem + ".partial.weights.h5"
        os.makedirs(self.backup_dir, exist_ok=True)
        try:
            # Keras insists on the .weights.h5 ending, so no atomic_path here.
            with quiet_h5py_cleanup():
                self.model.save_weights(partial)
            os.replace(partial, weights)
            write_json(position, stem + ".json")
        except BaseException:
            # What this call wrote goes (a weights file without its JSON
            # would not count anyway); the checkpoints before stay whole.
            for path in (partial, weights):
                if os.path.exists(path):
                    os.remove(path)
            raise
        self._saved = position
        kept = {
            path
            for kept in self.checkpoints(self.backup_dir)[:KEPT]
            for path in (kept["weights"], kept["weights"][: -len(".weights.h5")] + ".json")
        }
        for older in glob.glob(os.path.join(self.backup_dir, "step-*")):
            if older not in kept:
                os.remove(older)
        return position
