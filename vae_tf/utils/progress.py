"""Progress of long loops (evaluation, judging, sweeps), shown the way Keras shows training.

`progress_bar` is `keras.utils.Progbar` with its estimate of the time left:
redrawn in place on a terminal or in a notebook, and one line every 30
seconds when the output goes to a file (a `nohup` log), so the log stays
readable. `ProgressClock` estimates the time left of a loop of uneven items
(a sweep's points) for lines of text.

Example:

```python
bar = progress_bar(len(images), "image")
for start in range(0, len(images), 100):
    ...
    bar.update(min(start + 100, len(images)), [("nll", running_nll)])
```
"""

import sys
import time

import keras

# Between two lines of a bar written to a file, in seconds.
LOG_INTERVAL = 30.0


def interactive():
    """Whether the output is a terminal or a notebook (bars redrawn in place)."""
    return sys.stdout.isatty() or "ipykernel" in sys.modules


def progress_bar(total, unit="step", stateful=("nll",)):
    """A `keras.utils.Progbar` of `total` units, with ETA; `stateful` values are shown as given."""
    return keras.utils.Progbar(
        total,
        unit_name=unit,
        stateful_metrics=list(stateful),
        interval=0.1 if interactive() else LOG_INTERVAL,
    )


def format_duration(seconds):
    """`"45s"`, `"3 min 05 s"`, `"2 h 07 min"`."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class ProgressClock:
    """Time left of a loop over `total` items, from the items timed so far.

    Items skipped (a resumed sweep's finished points) are `skip`ped: they
    count as done but not in the time per item.
    """

    def __init__(self, total):
        self.total = total
        self.done = 0
        self.timed = 0
        self.seconds = 0.0
        self._start = None

    def start(self):
        self._start = time.perf_counter()

    def finish(self):
        self.seconds += time.perf_counter() - self._start
        self.timed += 1
        self.done += 1

    def skip(self):
        self.done += 1

    def left(self):
        """`"about 3 min 05 s left"`, or `""` before the first timed item or after the last."""
        if not self.timed or self.done >= self.total:
            return ""
        return f"about {format_duration(self.seconds / self.timed * (self.total - self.done))} left"
