"""Exact checkpoints: weights, optimizer and noise state, at a position to the step.

Example:

```python
checkpoint = TrainingCheckpoint("run/checkpoint", save_freq=500)  # and every epoch
vae.fit(train_ds, epochs=30, callbacks=[StopOnNonFiniteLoss(), checkpoint])
# Killed? The same fit call restores the weights, optimizer, noise and epoch.
```
"""

import glob
import json
import os

import keras

from vae_tf._files import atomic_path


def training_step(model):
    """The global training step (a MirroredVariable under strategies: read its value)."""
    return int(model.optimizer.iterations.value.numpy())


def load_training_state(model, path):
    """Loads weights, optimizer state and noise state from a .weights.h5 or .keras file.

    The optimizer is built first: an unbuilt one would skip its saved state.
    """
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(path)


class TrainingCheckpoint(keras.callbacks.BackupAndRestore):
    """Keras' `BackupAndRestore`, made crash-proof and exact to the step.

    Saves the model's weights, the optimizer's state and the Sampler's noise
    state at the end of every epoch and, if `save_freq` is an integer, every
    `save_freq` training steps; a new `fit` with this callback restores the
    latest checkpoint. Unlike Keras 3.15's callback:

    - a checkpoint is a pair `step-<n>.weights.h5` + `step-<n>.json`, each
      written under a temporary name and renamed, the JSON last, and older
      pairs are deleted after: a kill at any moment leaves the previous
      checkpoint whole (Keras rewrites `latest.weights.h5` in place);
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
    def latest(directory):
        """The position `{"epoch", "batch", "step"}` of `directory`'s latest checkpoint, or None."""
        for metadata in sorted(glob.glob(os.path.join(directory, "step-*.json")), reverse=True):
            weights = metadata[: -len(".json")] + ".weights.h5"
            try:
                with open(metadata) as f:
                    position = json.load(f)
            except FileNotFoundError:  # replaced by a newer one as we looked
                continue
            if os.path.isfile(weights):
                return {**position, "weights": weights}
        return None

    def restore(self, model=None):
        """Loads the latest checkpoint into `model` (default: the fitted one); returns its position.

        Returns None, and changes nothing, when there is no checkpoint.
        """
        model = model or self.model
        self._restored = True
        latest = self.latest(self.backup_dir)
        if latest is None:
            return None
        load_training_state(model, latest.pop("weights"))
        self.position = latest
        self._current_epoch = latest["epoch"]
        self.first_batch = latest["batch"]
        return latest

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
            self._save_model()

    def on_epoch_end(self, epoch, logs=None):
        self.first_batch = 0
        self._batches_done = 0
        self._current_epoch = epoch + 1
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1
        self._save_model()

    def _save_model(self):
        step = training_step(self.model)
        stem = os.path.join(self.backup_dir, f"step-{step:012d}")
        os.makedirs(self.backup_dir, exist_ok=True)
        # Keras insists on the .weights.h5 ending, so no atomic_path here.
        self.model.save_weights(stem + ".partial.weights.h5")
        os.replace(stem + ".partial.weights.h5", stem + ".weights.h5")
        position = {"epoch": self._current_epoch, "batch": self._batches_done, "step": step}
        with atomic_path(stem + ".json") as partial, open(partial, "w") as f:
            json.dump(position, f)
        for older in glob.glob(os.path.join(self.backup_dir, "step-*")):
            if not older.startswith(stem + "."):
                os.remove(older)
