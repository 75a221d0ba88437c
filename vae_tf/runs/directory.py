"""A training run's directory: staged, locked, resumable, published whole.

A run is written into `<output_dir>.partial` and renamed to `<output_dir>`
when complete, so a crash never leaves a directory that looks finished. The
staging folder holds the run's `config.json` from the start and its
checkpoints under `checkpoint/`: rerunning the same command after a crash
finds them and resumes.

Example:

```python
run = RunDirectory("runs/a", config_dict)   # refuses to clobber runs/a
position = run.open()                       # None, or where to resume
...                                         # train, writing into run.staging
run.publish()                               # runs/a.partial -> runs/a
```
"""

import contextlib
import glob
import os
import shutil
import warnings

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs are not guarded.
    fcntl = None

from vae_tf.callbacks import TrainingCheckpoint
from vae_tf.runs.artifacts import CONFIG_FILE
from vae_tf.runs.artifacts import HISTORY_FILE
from vae_tf.runs.artifacts import LAST_WEIGHTS_FILE
from vae_tf.runs.artifacts import MODEL_FILE
from vae_tf.runs.artifacts import TRAINING_KEY
from vae_tf.runs.artifacts import history_length
from vae_tf.runs.artifacts import read_settings
from vae_tf.runs.artifacts import write_settings
from vae_tf.runs.config import differences


def find_interrupted(pattern, config):
    """The newest `*.partial` run matching the glob `pattern` with `config`'s settings, or None."""
    candidates = []
    for staging in glob.glob(pattern):
        try:
            same = not differences(read_settings(staging), config)
        except (OSError, ValueError):
            continue
        if same and TrainingCheckpoint.latest(os.path.join(staging, "checkpoint")):
            candidates.append((os.path.getmtime(os.path.join(staging, CONFIG_FILE)), staging))
    if not candidates:
        return None
    return max(candidates)[1][: -len(".partial")]


class RunDirectory:
    """Stages, guards and publishes one run directory.

    Args:
        path: The run directory to write.
        config: The run's settings as a JSON-ready dict (saved in
            `config.json`; compared with an interrupted run's).
        resume: Require something to resume: an interrupted run in
            `path.partial`, or a finished run in `path` to train further.
        overwrite: Replace a finished run in `path` (when the new one is
            complete) and discard an interrupted one.
        chief: False for the non-chief workers of a multi-worker strategy:
            they read the chief's checkpoints but write nothing here.

    Raises:
        FileExistsError: `path` is a file, or a non-empty folder that
            neither `resume` nor `overwrite` allows to touch.
    """

    def __init__(self, path, config, resume=False, overwrite=False, chief=True):
        if resume and overwrite:
            raise ValueError("Choose resume or overwrite, not both.")
        self.path = os.path.normpath(path)
        self.staging = self.path + ".partial"
        self.checkpoint_dir = os.path.join(self.staging, "checkpoint")
        self.config = config
        self.resume = resume
        self.overwrite = overwrite
        self.chief = chief
        if chief and os.path.isdir(self.path + ".replaced") and not os.path.exists(self.path):
            # A crash between publish's two renames: the old run comes back.
            os.rename(self.path + ".replaced", self.path)
        self.finished = os.path.isdir(self.path) and bool(os.listdir(self.path))
        self._lock = None
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise FileExistsError(
                f"output_dir {self.path} is a file; choose a folder path for the run."
            )
        self._check_writable()
        if self.finished and not (resume or overwrite):
            raise FileExistsError(
                f"output_dir {self.path} already exists and is not empty. Pass resume=True "
                "to train that run further (up to epochs), overwrite=True to replace it, or "
                "choose another output_dir."
            )
        if self.finished and resume and not os.path.isfile(os.path.join(self.path, MODEL_FILE)):
            raise FileExistsError(
                f"output_dir {self.path} holds no vae.keras, so there is no run to resume; "
                "choose another output_dir, or overwrite=True to replace it."
            )

    def _check_writable(self):
        parent = os.path.dirname(os.path.abspath(self.path))
        while not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
            what = "is a file" if not os.path.isdir(parent) else "is not writable"
            raise PermissionError(
                f"Cannot create output_dir {self.path}: {parent} {what}. Choose an "
                "output_dir in a folder you can write to."
            )

    def open(self):
        """Prepares the staging folder; returns the position to resume from, or None.

        The position is `{"epoch", "batch", "step", "from"}`, where "from" is
        the checkpoint folder or the finished run's file to load: its
        `last.weights.h5` when its model is its best epoch's, else its
        `vae.keras`.
        """
        if not self.chief:
            return self._position()
        position = None if self.overwrite else self._position()
        if position is None and self.resume:
            raise FileNotFoundError(
                f"Nothing to resume: no checkpoint in {self.checkpoint_dir} and no finished "
                f"run in {self.path}. Drop resume=True to start this run."
            )
        self._take_lock()
        if position is None:
            self._clear_staging()
        elif position["from"] != self.checkpoint_dir:
            self._stage_finished_run()
        self._write_config()
        return position

    def _position(self):
        checkpoint = TrainingCheckpoint.latest(self.checkpoint_dir)
        if checkpoint is not None:
            changed = differences(read_settings(self.staging), self.config)
            if changed:
                raise FileExistsError(
                    f"{self.staging} holds an interrupted run with other settings "
                    f"({'; '.join(changed)}). Rerun with its settings to resume it, "
                    "add overwrite=True to discard it, or choose another output_dir."
                )
            return {**checkpoint, "from": self.checkpoint_dir}
        if self.finished and self.resume:
            stored = read_settings(self.path)
            changed = differences(stored, self.config)
            if changed:
                raise ValueError(
                    f"{self.path} was trained with other settings ({'; '.join(changed)}); "
                    "resume it with its own settings (only epochs, learning_rate, "
                    "checkpoint_steps, time_limit and keep_best may change)."
                )
            epochs_done = history_length(os.path.join(self.path, HISTORY_FILE))
            if epochs_done >= self.config["epochs"]:
                raise ValueError(
                    f"{self.path} already has {epochs_done} epochs: set epochs greater "
                    f"than {epochs_done} to train it further."
                )
            return {
                "epoch": epochs_done,
                "batch": 0,
                "step": None,
                "from": self._last_weights(stored),
            }
        return None

    def _last_weights(self, stored):
        """The finished run's file of its last epoch: last.weights.h5, or vae.keras."""
        last = os.path.join(self.path, LAST_WEIGHTS_FILE)
        if os.path.isfile(last):
            return last
        training = stored.get(TRAINING_KEY)
        if isinstance(training, dict) and training.get("model_weights") == "best":
            warnings.warn(
                f"{last} is missing: the run goes on from the best epoch's weights in "
                f"{MODEL_FILE} (epoch {training.get('model_epoch')}), counted as epoch "
                f"{training.get('epochs_done')}."
            )
        return os.path.join(self.path, MODEL_FILE)

    def _take_lock(self):
        os.makedirs(self.staging, exist_ok=True)
        if fcntl is None:
            return
        # The lock dies with its process, kill -9 included, so a crashed run
        # never blocks its own resumption.
        self._lock = open(os.path.join(self.staging, ".lock"), "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise FileExistsError(
                f"{self.staging} is being written by another training process; wait for "
                "it to finish, or choose another output_dir."
            ) from None

    def _clear_staging(self):
        for name in os.listdir(self.staging):
            if name == ".lock":
                continue
            full = os.path.join(self.staging, name)
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            else:
                os.remove(full)

    def _stage_finished_run(self):
        """Copies what a further-trained run keeps: its history and TensorBoard logs."""
        self._clear_staging()
        shutil.copy2(os.path.join(self.path, HISTORY_FILE), self.staging)
        logs = os.path.join(self.path, "logs")
        if os.path.isdir(logs):
            shutil.copytree(logs, os.path.join(self.staging, "logs"))

    def _write_config(self):
        write_settings(self.staging, self.config)

    def publish(self):
        """Renames the complete staging folder onto `path` (replacing a finished run)."""
        shutil.rmtree(self.checkpoint_dir, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(self.staging, ".lock"))
        if os.path.isdir(self.path):
            # The old run stays whole until the new one is in place.
            retired = self.path + ".replaced"
            shutil.rmtree(retired, ignore_errors=True)
            os.rename(self.path, retired)
            os.rename(self.staging, self.path)
            shutil.rmtree(retired)
        else:
            os.rename(self.staging, self.path)
        self.close()

    def close(self):
        """Releases the lock (publish does so); the staging folder stays for a resume."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None
