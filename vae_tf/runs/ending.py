"""How a training ends: the time limit's stop, the best epoch kept, and what the run says of it.

`train` (vae_tf.runs.loop) asks this module: which epoch's weights the run's
model is (`finish`), whether an earlier call stopped on its time limit at the
position it resumes from (`stopped_by_time_limit`, `mark_stopped`), how the
best epoch carries over a resume (`best_of_finished_run`, `best_at_resume`),
and the summary's lines (`summary_lines`). config.json's "training" entry is
`finish`'s dict.
"""

import os

from vae_tf.callbacks import load_training_state
from vae_tf.runs.artifacts import HISTORY_FILE
from vae_tf.runs.artifacts import LAST_WEIGHTS_FILE
from vae_tf.runs.artifacts import MODEL_FILE
from vae_tf.runs.artifacts import best_epoch
from vae_tf.runs.artifacts import read_history
from vae_tf.runs.artifacts import read_training
from vae_tf.runs.artifacts import write_last
from vae_tf.utils.files import read_json
from vae_tf.utils.files import write_json
from vae_tf.utils.progress import format_duration

# The log whose lowest value makes the best epoch (`keep_best`).
MONITOR_KEY = "val_total_loss"
# In the checkpoint folder: the training was stopped by its time limit there,
# so the same command, rerun after a crash while the run's files were
# written, writes them instead of training on.
STOPPED_FILE = "stopped.json"


def summary_lines(training):
    """The summary's lines on how the training ended: the time limit, the best epoch, the model."""
    done, epochs = training["epochs_done"], training["epochs"]
    lines = []
    if training["stopped_by"] == "time_limit":
        lines.append(
            f"Stopped by the time limit ({training['time_limit']}) after {done} of {epochs} "
            f"epochs, in {format_duration(training['seconds'])}."
        )
    if training["best_epoch"] is not None:
        lines.append(
            f"Best epoch {training['best_epoch']} of {done}: val_total_loss "
            f"{training['best_val_total_loss']:.2f}."
        )
    model_epoch = training["model_epoch"]
    if training["model_weights"] == "best":
        since = (
            ""
            if model_epoch == training["best_epoch"]
            else ", the best of the epochs since the best was kept"
        )
        lines.append(
            f"The model written (vae.keras, saved_model, figures) is epoch {model_epoch}'s"
            f"{since}; the last epoch's weights are in {LAST_WEIGHTS_FILE}."
        )
    elif training["keep_best"]:
        lines.append(
            f"No validation loss to choose an epoch by: the model written is the last epoch's "
            f"({model_epoch})."
        )
    elif training["best_epoch"] is not None and training["best_epoch"] != done:
        lines.append(f"The model written is the last epoch's ({model_epoch}).")
    return lines


def finish(config, model, history, ending, staging):
    """Puts the run's model in place (the best epoch's, or the last); returns config.json's "training".

    With a best epoch kept, the last epoch's weights are written as
    last.weights.h5 first, then the best epoch's are loaded into `model`.
    """
    best = ending["best"]
    done = len(history.get("loss", []))
    model_weights, model_epoch = "last", done
    if best is not None and best.record is not None:
        write_last(model, staging)
        model_epoch = best.restore(model)["epoch"]
        model_weights = "best"
    elif os.path.exists(os.path.join(staging, LAST_WEIGHTS_FILE)):
        # An earlier call's, written before a crash: the model is the last epoch's now.
        os.remove(os.path.join(staging, LAST_WEIGHTS_FILE))
    best_at, best_value = best_epoch(history)
    return {
        "epochs_done": done,
        "epochs": config.epochs,
        "stopped_by": "time_limit" if ending["stopped_epoch"] is not None else "epochs",
        "time_limit": config.time_limit,
        "seconds": round(ending["seconds"], 1),
        "keep_best": best is not None or bool(config.keeps_best),
        "best_epoch": best_at,
        "best_val_total_loss": best_value,
        "model_weights": model_weights,
        "model_epoch": model_epoch,
    }


def stopped_by_time_limit(checkpoint_dir, config, position):
    """Whether a previous call stopped by the same time limit at `position` (see `STOPPED_FILE`)."""
    path = os.path.join(checkpoint_dir, STOPPED_FILE)
    if position is None or config.time_limit is None or not os.path.isfile(path):
        return False
    try:
        stopped = read_json(path)
    except ValueError:
        return False
    return (
        isinstance(stopped, dict)
        and stopped.get("time_limit") == config.time_limit
        and stopped.get("epoch") == position["epoch"]
        and position["batch"] == 0
    )


def best_of_finished_run(best, model, run_dir):
    """Keeps a finished run's model as the best epoch when it is one (before the run's restore).

    The model of a run that kept its best epoch is that epoch's (vae.keras,
    config.json's "training" says which); the run itself goes on from its
    last.weights.h5.
    """
    training = read_training(run_dir)
    if not training or training.get("model_weights") != "best":
        return
    epoch = training["model_epoch"]
    values = read_history(os.path.join(run_dir, HISTORY_FILE)).get(MONITOR_KEY, [])
    if epoch <= len(values):
        load_training_state(model, os.path.join(run_dir, MODEL_FILE))
        best.offer(model, epoch, values[epoch - 1])


def best_at_resume(best, model, position, history):
    """Brings the best epoch up to date with the restored `position` of a resumed run.

    A best epoch newer than the position (the newest checkpoint was damaged
    and an older one restored) is forgotten: that epoch is trained again.
    Restored weights that are a whole epoch's are offered as the best: so
    a run resumed with keep_best newly on, or after a crash between an
    epoch's checkpoint and its best epoch's save, counts the epoch it
    resumes from.
    """
    if best.record is not None and best.record["epoch"] > position["epoch"]:
        best.forget()
    values = history.get(MONITOR_KEY, [])
    epoch = position["epoch"]
    if not position["batch"] and 0 < epoch <= len(values):
        best.offer(model, epoch, values[epoch - 1])


def mark_stopped(checkpoint_dir, epoch, time_limit):
    """Records in the checkpoint folder that the time limit stopped the training at `epoch`."""
    write_json(
        {"epoch": epoch, "time_limit": time_limit}, os.path.join(checkpoint_dir, STOPPED_FILE)
    )
