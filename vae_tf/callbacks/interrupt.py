"""Ctrl-C and SIGTERM that stop a training at a checkpoint, with one line saying so.

Python turns Ctrl-C (SIGINT) into a `KeyboardInterrupt` wherever the program
happens to be, and SIGTERM (a cloud preemption, Slurm's time limit, `docker
stop`, Kubernetes) kills it outright: either way the steps since the last
checkpoint are lost. Here:

- `SignalCatcher` records the first SIGINT or SIGTERM instead; a second one
  ends the process at once (the checkpoints already written are whole).
- `StopOnSignal`, the last callback of `fit`, sees the signal when the
  current compiled call returns, writes a checkpoint at that exact step and
  raises `TrainingInterrupted`, whose message says where it stopped and how
  to resume. Under `MultiWorkerMirroredStrategy` the workers agree at every
  step, so they all stop at the same one.
- `sigterm_as_interrupt` makes SIGTERM raise `Interrupted` as SIGINT raises
  `KeyboardInterrupt`, for programs with nothing to save.

Example:

```python
checkpoint = TrainingCheckpoint("run/checkpoint")
with SignalCatcher() as catcher:
    vae.fit(dataset, epochs=30,
            callbacks=[checkpoint, StopOnSignal(catcher, checkpoint)])
# Ctrl-C: TrainingInterrupted("Interrupted in epoch 3 at step 1,234: saved a
# checkpoint in run/checkpoint; run the same command to resume.")
```
"""

import contextlib
import signal
import threading

import keras
import tensorflow as tf

from vae_tf import distribute

SIGNAL_NAMES = {signal.SIGINT: "Interrupted", signal.SIGTERM: "Terminated"}


class Interrupted(KeyboardInterrupt):
    """A SIGINT or SIGTERM that stopped the program; `exit_status` is the shell's 128 + signal."""

    def __init__(self, message, signal_number=signal.SIGINT):
        super().__init__(message)
        self.signal_number = int(signal_number)

    @property
    def exit_status(self):
        return 128 + self.signal_number


class TrainingInterrupted(Interrupted):
    """A training stopped by a signal at `position` `{"epoch", "batch", "step"}`, checkpointed there."""

    def __init__(self, message, signal_number, position):
        super().__init__(message, signal_number)
        self.position = position


def _in_main_thread():
    # Python lets only the main thread set signal handlers.
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Inside the block, SIGTERM raises `Interrupted("", SIGTERM)`, a KeyboardInterrupt.

    So `finally` blocks and context managers clean up after a SIGTERM as
    they do after Ctrl-C. Outside the main thread, it changes nothing.
    """
    if not _in_main_thread():
        yield
        return

    def handler(signal_number, frame):
        raise Interrupted("", signal_number)  # as bare as Ctrl-C's KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class SignalCatcher:
    """Within its block, records the first SIGINT or SIGTERM instead of raising.

    After the first, both signals take their default action again, so a
    second Ctrl-C ends the process at once. `stop_deferring(message)` ends
    the grace: from then on a signal raises `Interrupted` at once (and one
    already received raises now). Outside the main thread it catches
    nothing, and `received` stays None.

    Example:

    >>> with SignalCatcher() as catcher:
    ...     while not catcher.received:
    ...         work()
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.received = None  # the first signal's number
        self._after_grace = None  # the message of a signal once stop_deferring was called
        self._previous = {}

    def __enter__(self):
        if _in_main_thread():
            # A signal ignored by the parent (`nohup`'s SIGINT) stays ignored.
            self._previous = {
                number: signal.signal(number, self._handle)
                for number in self.SIGNALS
                if signal.getsignal(number) is not signal.SIG_IGN
            }
        return self

    def __exit__(self, *exc_info):
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _handle(self, signal_number, frame):
        if self._after_grace is not None:
            raise Interrupted(f"{SIGNAL_NAMES[signal_number]} {self._after_grace}", signal_number)
        self.received = signal_number
        for number in self._previous:
            signal.signal(number, signal.SIG_DFL)

    def stop_deferring(self, message):
        """Signals raise `Interrupted("<Interrupted|Terminated> <message>")` from now on.

        Raises it at once if a signal came before.
        """
        self._after_grace = message
        if self.received is not None:
            raise Interrupted(f"{SIGNAL_NAMES[self.received]} {message}", self.received)
        for number in self._previous:
            signal.signal(number, self._handle)


def _agreement(strategy):
    """A function summing every worker's `[SIGINT, SIGTERM]` votes (a collective: all must call it)."""

    @tf.function
    def agree(votes):
        return strategy.reduce(
            tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.identity(votes)), axis=None
        )

    return agree


class StopOnSignal(keras.callbacks.Callback):
    """Stops `fit` at the step a signal arrived during, checkpointed, with one line.

    Put it last among the callbacks, after `checkpoint`, so that every other
    callback has finished the step. At a step inside an epoch it saves a
    checkpoint at once; at an epoch's last step it lets the validation, the
    history row and the epoch's checkpoint finish first. Then it raises
    `TrainingInterrupted`: "Interrupted in epoch 3 at step 1,234: saved a
    checkpoint in <shown_dir>; <resume_hint>." Under a multi-worker
    strategy, every worker sends its vote at every step and all stop at the
    same one (SIGTERM wins over SIGINT: a preemption is coming).

    Args:
        catcher: The `SignalCatcher` whose block `fit` runs in.
        checkpoint: The run's `TrainingCheckpoint`.
        shown_dir: The checkpoint folder the message names (default: the
            checkpoint's own; a worker that is not the chief names the
            chief's).
        resume_hint: How to go on, for the message.
    """

    def __init__(
        self, catcher, checkpoint, shown_dir=None, resume_hint="run the same command to resume"
    ):
        super().__init__()
        self.catcher = catcher
        self.checkpoint = checkpoint
        self.shown_dir = shown_dir or checkpoint.backup_dir
        self.resume_hint = resume_hint
        self._agree = None
        self._pending = None

    def on_train_begin(self, logs=None):
        # The model's: callbacks run outside the strategy's scope.
        strategy = self.model.distribute_strategy
        if distribute.num_workers(strategy) > 1:
            self._agree = _agreement(strategy)

    def _signal(self):
        """The signal to stop for (agreed by every worker), or None."""
        if self._agree is None:
            return self.catcher.received
        votes = [float(self.catcher.received == s) for s in (signal.SIGINT, signal.SIGTERM)]
        sigint, sigterm = self._agree(tf.constant(votes)).numpy()
        return signal.SIGTERM if sigterm else signal.SIGINT if sigint else None

    def on_train_batch_end(self, batch, logs=None):
        signal_number = self._signal()
        if signal_number is None or self._pending:
            return
        if batch + 1 == self.params.get("steps"):
            # The epoch's last step: its validation, history row and
            # checkpoint come first.
            self._pending = signal_number
            return
        position = self.checkpoint.save()
        self._stop(
            signal_number,
            position,
            f"in epoch {position['epoch'] + 1} at step {position['step']:,}",
        )

    def on_epoch_end(self, epoch, logs=None):
        # A signal during validation counts too (the workers vote again).
        signal_number = self._signal() or self._pending
        if signal_number is not None:
            self._stop_at_epoch_end(signal_number)

    def on_train_end(self, logs=None):
        # A signal between the last epoch's end and the end of fit.
        signal_number = self._signal()
        if signal_number is not None:
            self._stop_at_epoch_end(signal_number)

    def _stop_at_epoch_end(self, signal_number):
        position = self.checkpoint.save()  # usually saved already, by the checkpoint itself
        self._stop(
            signal_number,
            position,
            f"at the end of epoch {position['epoch']} (step {position['step']:,})",
        )

    def _stop(self, signal_number, position, where):
        raise TrainingInterrupted(
            f"{SIGNAL_NAMES[signal_number]} {where}: saved a checkpoint in {self.shown_dir}; "
            f"{self.resume_hint}.",
            signal_number,
            position,
        )
