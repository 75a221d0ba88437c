"""One `train(config)` for scripts and notebooks: build, compile, fit, write the run.

Example:

```python
result = train(TrainConfig(latent_dim=2, epochs=30))
result.model.decode([[0.0, 0.0]])
print(result.run_dir)        # config.json, history.csv, vae.keras, ...
```
"""

import contextlib
import dataclasses
import datetime
import math
import os
import shutil
import tempfile
import warnings

import keras
import tensorflow as tf
from absl import logging

from vae_tf import distribute
from vae_tf.callbacks import BestCheckpoint
from vae_tf.callbacks import CyclicalKLAnnealing
from vae_tf.callbacks import EpochTimer
from vae_tf.callbacks import KLWarmup
from vae_tf.callbacks import StepProgressBar
from vae_tf.callbacks import StopOnNonFiniteLoss
from vae_tf.callbacks import StopOnSignal
from vae_tf.callbacks import TimeLimit
from vae_tf.callbacks import TrainingCheckpoint
from vae_tf.callbacks import load_training_state
from vae_tf.callbacks import tensorboard_callbacks
from vae_tf.callbacks import time_limit
from vae_tf.models.optimizers import FusedAdam
from vae_tf.models.registry import get_variant
from vae_tf.plotting import loss_metrics
from vae_tf.runs import ending
from vae_tf.runs.artifacts import HISTORY_FILE
from vae_tf.runs.artifacts import LOGS_DIR
from vae_tf.runs.artifacts import HistoryLogger
from vae_tf.runs.artifacts import TrainResult
from vae_tf.runs.artifacts import keep_history
from vae_tf.runs.artifacts import read_history
from vae_tf.runs.artifacts import write_artifacts
from vae_tf.runs.artifacts import write_training
from vae_tf.runs.code_prior import train_code_prior
from vae_tf.runs.directory import RunDirectory
from vae_tf.runs.directory import find_interrupted
from vae_tf.runs.run_data import data_source
from vae_tf.runs.run_data import image_shape
from vae_tf.runs.run_data import likelihood
from vae_tf.runs.run_data import run_data
from vae_tf.utils.files import DiskFullError
from vae_tf.utils.files import is_disk_full
from vae_tf.utils.signals import SignalCatcher


def default_output_dir(config, resume=True):
    """`runs/<architecture>_latent<d>_<timestamp>`, or the newest interrupted run like `config`.

    With `resume`, rerunning a crashed command without output_dir finds its
    run again.
    """
    prefix = os.path.join("runs", f"{config.architecture}_latent{config.latent_dim}_")
    interrupted = resume and find_interrupted(prefix + "*.partial", config.settings())
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return interrupted or prefix + stamp


def _steps_per_execution(config):
    """`config.steps_per_execution`, or 1 where several steps per call go wrong."""
    if config.steps_per_execution == 1:
        return 1
    if tf.distribute.has_strategy():
        # Keras 3 (3.15) fails on several steps per call under tf.distribute
        # strategies ("You must feed a value for placeholder tensor",
        # keras-team/keras#19246).
        logging.warning(
            "steps_per_execution=%d does not work under tf.distribute strategies in Keras "
            "%s (keras-team/keras#19246): one step per call.",
            config.steps_per_execution,
            keras.__version__,
        )
        return 1
    if config.steps_per_epoch:
        # Keras runs whole calls: one overlapping the end of a shortened
        # epoch would train past it (4 epochs of 2 steps ran 40 steps at 10
        # per call), so the calls must tile the epoch.
        return max(
            every
            for every in range(1, config.steps_per_execution + 1)
            if config.steps_per_epoch % every == 0
        )
    return config.steps_per_execution


def build_model(config, num_classes=None, source=None):
    """The compiled model of `config` (its `--model` entry's), built under its dtype policy.

    Under a distribution strategy, call it inside `strategy.scope()`.
    `source`: the run's `DataSource`, if already made (see `data_source`);
    `num_classes` overrides its number of classes.
    """
    if config.conditional and num_classes is None:
        source = source or data_source(config)
        num_classes = source.num_classes
        if num_classes is None:
            if source.folder is not None:
                fix = "put each class in its own sub-folder (at least two)"
            elif source.factors is not None:
                fix = f"{config.dataset} has factors of variation but no classes; train it unconditional"
            else:
                fix = f"add y_train and y_test to {config.dataset}"
            raise ValueError(f"A conditional VAE needs labels: {fix}.")
    num_classes = num_classes if config.conditional else None
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(config.mixed_precision)
    try:
        common = dict(
            likelihood=likelihood(config, source),
            sigma=config.sigma,
            seed=config.seed,
            num_classes=num_classes,
        )
        model = get_variant(config.model).build(config, image_shape(config), common)
    finally:
        keras.config.set_dtype_policy(previous_policy)
    optimizer = FusedAdam(config.learning_rate)
    if config.mixed_precision == "mixed_float16":
        # Losses summed over pixels have gradients about 1,000 times those of
        # per-pixel means, for which Keras' initial scale 2**15 is made: from
        # there, the conv preset skipped its first 6 steps on float16
        # overflows before the dynamic scale settled at 2**9.
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=2**8)
    model.compile(
        optimizer=optimizer,
        run_eagerly=config.run_eagerly,
        jit_compile=config.jit_compile,
        steps_per_execution=_steps_per_execution(config),
    )
    return model


def kl_schedule(config):
    """The KL callback `config` asks for, or None for a constant weight."""
    if config.kl_warmup_epochs:
        return KLWarmup(config.kl_warmup_epochs, unit="epochs")
    if config.kl_warmup_steps:
        return KLWarmup(config.kl_warmup_steps, unit="steps")
    if config.kl_cycles:
        return CyclicalKLAnnealing(config.kl_cycles, config.kl_cycle_ratio)
    return None


def _print_final(history, run_dir, model, training, prior_history=None):
    bound = model.bound_name

    def line(prefix):
        values = [
            f"{key} {history[prefix + key][-1]:.2f}"
            for key, _ in loss_metrics(model.loss_term_names)
            if history.get(prefix + key)
        ]
        if bound and history.get(prefix + "loss"):  # the optimized objective (loss)
            values.append(f"{bound} {history[prefix + 'loss'][-1]:.2f}")
        return ", ".join(values)

    print(f"Final training:   {line('')}")
    if history.get("val_total_loss"):
        print(f"Final validation: {line('val_')}")
    if prior_history and prior_history.get("prior_loss"):
        validation = prior_history.get("val_prior_loss")
        print(
            f"Final prior:      prior_loss {prior_history['prior_loss'][-1]:.2f} nats a code map"
            + (f", validation {validation[-1]:.2f}" if validation else "")
        )
    seconds = history.get("epoch_seconds", [])
    if seconds:
        print(f"Seconds per epoch: {sum(seconds) / len(seconds):.1f}")
    for line in ending.summary_lines(training):
        print(line)
    print(f"Run written to {run_dir}")


def _restore(model, position, learning_rate):
    """Loads a checkpoint or a finished run's last epoch; returns the position loaded.

    That is the newest checkpoint's, or the one before if the newest is
    damaged; a finished run's last.weights.h5 or vae.keras. A resumed run
    may change its learning rate.
    """
    if position["from"].endswith((".keras", ".weights.h5")):
        load_training_state(model, position["from"])
    else:
        position = TrainingCheckpoint(position["from"], restore=False).restore(model)
    model.optimizer.learning_rate = learning_rate
    return position


@contextlib.contextmanager
def _explain_full_disk(staging, checkpoint_dir):
    """Turns a write that found the disk full into a `DiskFullError` saying what is kept."""
    try:
        yield
    except Exception as error:
        if isinstance(error, DiskFullError) or not is_disk_full(error):
            raise
        latest = TrainingCheckpoint.latest(checkpoint_dir)
        kept = (
            f"the last whole checkpoint ({_done(latest)}) is kept in {checkpoint_dir}: then run "
            "the same command to resume"
            if latest
            else "no checkpoint was written yet"
        )
        raise DiskFullError(staging, kept) from error


def train(config, verbose="auto", resume=False, overwrite=False, callbacks=()):
    """Trains a VAE on the data `config` names and writes its run directory.

    The run directory is filled under `<output_dir>.partial` and renamed when
    complete, so a crash never leaves a directory that looks finished. The
    run checkpoints every epoch (and every `config.checkpoint_steps` steps)
    into `<output_dir>.partial/checkpoint`, and at the step where a SIGINT
    (Ctrl-C) or SIGTERM stops it; calling `train` again with the same
    settings resumes from the latest checkpoint, mid-epoch included.
    Under `config.strategy`, every worker trains; only the chief writes the
    run (and prints).

    Args:
        config: A `TrainConfig`.
        verbose: Keras' fit verbosity (0 silent, 1 progress bar, 2 one line
            per epoch); anything but 0 also prints the model summaries.
        resume: Insist on resuming: the interrupted run of
            `config.output_dir`, or its finished run, trained further up to
            `config.epochs`. Only `epochs`, `learning_rate` and
            `checkpoint_steps` may differ from the run's settings.
        overwrite: Start afresh even if `config.output_dir` holds a run (it
            is replaced once the new one is complete) or an interrupted one.
        callbacks: Extra Keras callbacks for `fit`. They come after the
            epoch timer and before the NaN stop, the history logger and the
            checkpoint, so they see (and may change) a step's logs first.

    With `config.time_limit`, the training stops at the end of the last
    epoch that fits in that wall-clock budget (counted from this call, the
    validation included, the writing of the run's files not) and the run is
    written as usual; calling `train` again, or with `resume=True` once it
    is finished, gives a fresh budget. With `config.keep_best` (by default
    on with a time limit), the model written (vae.keras, saved_model, the
    figures, the model returned) is the epoch of the lowest
    `val_total_loss`, kept in the checkpoint folder through interruptions
    and resumes, and the last epoch's weights are written as
    `last.weights.h5`, from which `resume=True` goes on. config.json's
    "training" entry, and `TrainResult.training`, say how it ended.

    Returns:
        A `TrainResult`.

    Raises:
        FileExistsError: `output_dir` holds a run and neither `resume` nor
            `overwrite` is set, or its interrupted run has other settings.
        FloatingPointError: the training loss became NaN or infinite; the
            last good checkpoint is kept.
        TrainingInterrupted: a SIGINT (Ctrl-C) or SIGTERM came: the run
            stopped at the end of that step, with a checkpoint there (a
            second signal stops the process at once). Its message says
            where; the same call resumes.
        DiskFullError: a write found the disk full; the checkpoints before
            it and any finished run are untouched.
        DamagedFileError: the checkpoint (or the finished run) to resume
            from cannot be read.
    """
    started = time_limit.now()
    config.validate()
    strategy = distribute.make_strategy(config.strategy)
    # Every worker runs the same steps, saving included (collective ops need
    # them all); the others write into a scratch directory they delete.
    chief = distribute.is_chief(strategy)
    verbose = verbose if chief else 0
    run_dir = config.output_dir or default_output_dir(config, resume=not overwrite)
    config = dataclasses.replace(config, output_dir=run_dir)
    run = RunDirectory(run_dir, config.settings(), resume, overwrite, chief=chief)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    if config.seed is not None:
        keras.utils.set_random_seed(config.seed)
    # Data and networks first: what cannot load or build leaves no run folder.
    data = run_data(config, data_source(config))
    get_variant(config.model).check_images(config, data.source.image_shape)
    if config.keep_best and data.validation is None:
        raise ValueError(
            "keep_best=True chooses the epoch of the best validation loss, and this run has no "
            f"validation data ({config.data_dir or config.dataset} holds none apart): drop "
            "keep_best=True, or give it validation data."
        )
    position = run.open()
    staging = run.staging if chief else tempfile.mkdtemp(prefix="vae_tf_worker_")
    several = distribute.num_workers(strategy) > 1
    resume_hint = f"run the same command{' on every worker' if several else ''} to resume"
    try:
        with SignalCatcher() as catcher, _explain_full_disk(run.staging, run.checkpoint_dir):
            # The workers all stop at the same step; the message names the
            # chief's checkpoint, the one a resume reads.
            stop_on_signal = dict(
                catcher=catcher, shown_dir=run.checkpoint_dir, resume_hint=resume_hint
            )
            model, history, end = _fit(
                config,
                strategy,
                data,
                position,
                staging,
                verbose,
                list(callbacks),
                stop_on_signal,
                started,
            )
            training = ending.finish(config, model, history, end, staging)
            prior_history = train_code_prior(
                config, strategy, model, data, staging, verbose, stop_on_signal
            )
            catcher.stop_deferring(
                "while writing the run's files: the training is complete and checkpointed in "
                f"{run.checkpoint_dir}; run the same command to write them"
            )
            write_artifacts(
                model,
                history,
                staging,
                data.test_set,
                seed=config.seed or 0,
                source=data.source,
            )
            if chief:
                write_training(staging, training)
    except BaseException:
        run.close()
        if not chief:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    if chief:
        run.publish()
    else:
        shutil.rmtree(staging)
    if verbose:
        _print_final(history, run_dir, model, training, prior_history)
    return TrainResult(
        model=model,
        history=history,
        run_dir=run_dir,
        training=training,
        prior_history=prior_history,
    )


def _fit(
    config, strategy, data, position, staging, verbose, extra_callbacks, stop_on_signal, started
):
    """Builds (or restores) the model and fits it from `position`; returns `(model, history, end)`.

    `stop_on_signal`: the arguments of the `StopOnSignal` callback but the
    checkpoint. `started`: when the time limit's budget began
    (`time_limit.now()`). `end`: `{"stopped_epoch"` (by the time limit,
    or None), `"seconds"` (of training), `"best"` (the `BestCheckpoint`, or
    None)}.
    """
    checkpoint_dir = os.path.join(staging, "checkpoint")
    history_path = os.path.join(staging, HISTORY_FILE)
    keep_best = config.keeps_best and data.validation is not None
    best = BestCheckpoint(checkpoint_dir, monitor=ending.MONITOR_KEY) if keep_best else None
    with strategy.scope():
        model = build_model(config, data.source.num_classes, data.source)
        model.dataset_size = data.train_examples
        finished_run = position and position["from"].endswith((".keras", ".weights.h5"))
        if best is not None and finished_run:
            ending.best_of_finished_run(best, model, os.path.dirname(position["from"]))
        # Under MultiWorkerMirroredStrategy the restore must be in the scope
        # too ("Need to be inside strategy.scope()").
        position = position and _restore(model, position, config.learning_rate)
    epoch, batch = 0, 0
    if position is not None:
        epoch, batch = position["epoch"], position["batch"]
    # A crash may have left rows past the checkpoint (or an older one, if the
    # newest was damaged): they are trained again.
    keep_history(history_path, epoch)
    if best is not None and position is not None:
        # (A worker that is not the chief has no history: its files are scratch.)
        history = read_history(history_path) if os.path.isfile(history_path) else {}
        ending.best_at_resume(best, model, position, history)
    stopped = ending.stopped_by_time_limit(checkpoint_dir, config, position)
    if verbose and stopped:
        print(
            f"{config.output_dir} stopped on its time limit after {epoch} epochs: writing its "
            "files."
        )
    elif verbose and position is not None and epoch < config.epochs:
        done = f" and {batch} steps of epoch {epoch + 1}" if batch else ""
        epochs = f"{epoch} epoch{'' if epoch == 1 else 's'}"
        print(f"Resuming {config.output_dir}: {epochs} done{done}.")
    if verbose:
        model.encoder.summary()
        model.decoder.summary()
    checkpoint = TrainingCheckpoint(
        checkpoint_dir,
        save_freq=config.checkpoint_steps or "epoch",
        restore=False,
    )
    checkpoint.first_batch = batch
    # The NaN stop comes before the checkpoint, so a bad step is never saved,
    # and the history row before it, so a checkpointed epoch has its row; the
    # best epoch's save after the checkpoint, so a best epoch is checkpointed.
    callbacks = [
        EpochTimer(),
        *extra_callbacks,
        StopOnNonFiniteLoss(),
        HistoryLogger(history_path, append=True),
        checkpoint,
        *([best] if best is not None else []),
        StepProgressBar(),
    ]
    schedule = kl_schedule(config)
    if schedule is not None:
        callbacks.append(schedule)
    callbacks.extend(
        tensorboard_callbacks(
            os.path.join(staging, LOGS_DIR), *data.test_set, seed=config.seed or 0
        )
    )
    limit = None
    if config.time_limit is not None:
        # After the others: an epoch's duration includes their work at its end.
        limit = TimeLimit(
            config.time_limit_seconds,
            epochs=config.epochs,
            started=started,
            label=str(config.time_limit),
            verbose=verbose,
        )
        callbacks.append(limit)
    # Last: a stop comes after every other callback has finished the step.
    callbacks.append(StopOnSignal(checkpoint=checkpoint, **stop_on_signal))
    fit = dict(validation_data=data.validation, callbacks=callbacks, shuffle=False, verbose=verbose)
    with warnings.catch_warnings():
        # A folder's length is unknown until its first pass (skipped files do
        # not count), and Keras says "Your input ran out of data" at its end;
        # steps_per_epoch repeats the data, so nothing can run out.
        warnings.filterwarnings("ignore", "Your input ran out of data", UserWarning)
        try:
            if stopped:
                epoch = config.epochs  # written, not trained on: see ending.STOPPED_FILE
            if batch:
                # Keras starts every epoch at its first batch: the interrupted
                # epoch is finished by a fit of its remaining batches.
                steps = config.steps_per_epoch and config.steps_per_epoch - batch
                if schedule is not None:
                    schedule.finish_epoch(
                        batch, config.steps_per_epoch or data.batches_per_pass, config.epochs
                    )
                every = model.steps_per_execution
                if steps and steps % every:
                    # Checkpointed where no call of this run ends (a KL schedule's
                    # runs took one step per call in earlier versions): calls that
                    # tile the rest of the epoch, whole calls overrunning it.
                    model.steps_per_execution = math.gcd(steps, every)
                    model.make_train_function(force=True)
                model.fit(
                    data.train_from(epoch, batch),
                    initial_epoch=epoch,
                    epochs=epoch + 1,
                    steps_per_epoch=steps,
                    **fit,
                )
                if model.steps_per_execution != every:
                    model.steps_per_execution = every
                    model.make_train_function(force=True)
                epoch += 1
            if epoch < config.epochs and not (limit and limit.stopped_epoch):
                model.fit(
                    data.train_from(epoch),
                    initial_epoch=epoch,
                    epochs=config.epochs,
                    steps_per_epoch=config.steps_per_epoch,
                    **fit,
                )
        except FloatingPointError as error:
            raise FloatingPointError(f"{error} {_after_nan(checkpoint.backup_dir)}") from None
    stopped_epoch = limit.stopped_epoch if limit else None
    if stopped:
        stopped_epoch = position["epoch"]
    elif stopped_epoch is not None:
        ending.mark_stopped(checkpoint_dir, stopped_epoch, config.time_limit)
    end = {
        "stopped_epoch": stopped_epoch,
        "seconds": time_limit.now() - started,
        "best": best,
    }
    return model, read_history(history_path), end


def _done(position):
    """ "2 epochs and 30 steps done": what a checkpoint at `position` holds."""
    epochs = position["epoch"]
    return f"{epochs} epoch{'' if epochs == 1 else 's'} and {position['batch']} steps done"


def _after_nan(checkpoint_dir):
    """What a NaN stop leaves and how to go on, in the library's words."""
    latest = TrainingCheckpoint.latest(checkpoint_dir)
    kept = (
        f"The last good checkpoint ({_done(latest)}) is kept in {checkpoint_dir}: rerun with "
        "a lower learning_rate=... to resume from it, or"
        if latest
        else "No checkpoint was saved before it:"
    )
    return (
        f"{kept} start afresh with overwrite=True (and a lower learning_rate=..., a "
        "z_log_var_clip=..., or cleaner data)."
    )
