"""An evaluation that survives being stopped: the figures of the images scored so far, on disk.

An importance-weighted NLL with K=5000 on 10,000 images takes hours (eight
with a PixelCNN decoder on a laptop CPU). `EvaluationProgress` keeps the
per-image figures done so far in one `.npz` file, beside a fingerprint of
everything they depend on: the model's weights, the images and labels, K,
the seed and the chunk size. An evaluation with the same fingerprint
continues after them, and its result is the one an uninterrupted evaluation
gives, since each block of images draws its noise from a seed fixed by its
position (`vae_tf.metrics.likelihood`). Another fingerprint (the run
trained further, another K) starts over.

Example:

```python
saved = EvaluationProgress("runs/x/evaluation-progress.npz", fingerprint)
figures = {"nll": np.empty(n), "kl": np.empty(n)}
done = saved.load(figures)      # 0 the first time; else figures[name][:done] filled
...
saved.save(done, figures)       # atomically: the file is whole or absent
saved.remove()                  # once the evaluation is complete
```
"""

import hashlib
import os

import numpy as np

from vae_tf.utils.files import atomic_path

# Changes when what the file holds, or how the draws are seeded, changes: a
# file of another version of vae_tf is then not mixed in.
FORMAT = 1


def evaluation_fingerprint(model, images, labels=None, **settings):
    """A hex digest of the model's class and weights, the images, the labels and `settings`."""
    digest = hashlib.sha256(f"{FORMAT} {type(model).__name__}".encode())
    # The weights' shapes and values in the model's order, not their paths: Keras
    # numbers unnamed layers (dense, dense_1, ...), so the same run loaded twice in
    # one process names them differently.
    arrays = [weight.numpy() for weight in model.weights] + [images, labels]
    for array in arrays:
        if array is not None:
            array = np.ascontiguousarray(array)
            digest.update(str((array.shape, array.dtype.str)).encode())
            digest.update(array.tobytes())
    digest.update(repr(sorted(settings.items())).encode())
    return digest.hexdigest()


class EvaluationProgress:
    """The per-image figures of an evaluation under way, in the `.npz` file at `path`.

    Args:
        path: The file (its folder must exist and be writable: checked at
            once, so that an evaluation of hours does not fail at its first
            save).
        fingerprint: `evaluation_fingerprint` of what the figures depend on.
    """

    def __init__(self, path, fingerprint):
        self.path = os.fspath(path)
        self.fingerprint = fingerprint
        folder = os.path.dirname(os.path.abspath(self.path))
        if not (os.path.isdir(folder) and os.access(folder, os.W_OK)):
            raise PermissionError(
                f"Cannot save the evaluation's progress in {folder}: no such folder, or "
                "it is not writable. Evaluate a copy of the run, or do not save the "
                "progress (save_progress=False; evaluate.py --nosave_progress)."
            )

    def load(self, figures):
        """Fills `figures[name][:done]` from the file; returns `done` (0 if nothing matches).

        A file of another fingerprint, or one that cannot be read, counts as
        nothing done: it is replaced at the next save.
        """
        if not os.path.isfile(self.path):
            return 0
        try:
            with np.load(self.path) as saved:
                if str(saved["fingerprint"]) != self.fingerprint:
                    return 0
                done = int(saved["done"])
                loaded = {name: saved[name] for name in figures}
        except Exception:  # noqa: BLE001 - empty, truncated, another format: nothing done
            return 0
        if any(len(values) != done for values in loaded.values()):
            return 0
        for name, values in loaded.items():
            figures[name][:done] = values
        return done

    def save(self, done, figures):
        """Writes the first `done` figures of each name, whole or not at all."""
        with atomic_path(self.path) as partial:
            with open(partial, "wb") as file:
                np.savez(
                    file,
                    fingerprint=self.fingerprint,
                    done=done,
                    **{name: values[:done] for name, values in figures.items()},
                )

    def remove(self):
        if os.path.exists(self.path):
            os.remove(self.path)
