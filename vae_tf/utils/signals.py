"""Ctrl-C and SIGTERM as process policy: recorded for a graceful stop, or raised as one.

Python turns Ctrl-C (SIGINT) into a `KeyboardInterrupt` wherever the program
happens to be, and SIGTERM (a cloud preemption, Slurm's time limit, `docker
stop`, Kubernetes) kills it outright. Here:

- `SignalCatcher` records the first SIGINT or SIGTERM instead; a second one
  ends the process at once. A training's `vae_tf.callbacks.StopOnSignal`
  reads it to stop at a checkpoint of that step.
- `sigterm_as_interrupt` makes SIGTERM raise `Interrupted` as SIGINT raises
  `KeyboardInterrupt`, for programs with nothing to save.
- `Interrupted`: the `KeyboardInterrupt` they raise, with the shell's exit
  status of its signal.

Example:

```python
with SignalCatcher() as catcher:
    while not catcher.received:
        work()
```
"""

import contextlib
import signal
import threading

SIGNAL_NAMES = {signal.SIGINT: "Interrupted", signal.SIGTERM: "Terminated"}


class Interrupted(KeyboardInterrupt):
    """A SIGINT or SIGTERM that stopped the program; `exit_status` is the shell's 128 + signal."""

    def __init__(self, message, signal_number=signal.SIGINT):
        super().__init__(message)
        self.signal_number = int(signal_number)

    @property
    def exit_status(self):
        return 128 + self.signal_number


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
