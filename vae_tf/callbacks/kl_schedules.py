"""Callbacks that drive a VAE's KL weight during `fit`: warm-up and cyclical annealing.

Both set `model.kl_weight` (a variable the compiled training step reads, so
nothing retraces) to `model.beta * fraction` before every call of the compiled
step: every step when the model is compiled with `steps_per_execution=1`
(`vae_tf.train` does so for runs with a schedule; otherwise they warn). The
weight used is logged per epoch as `kl_weight` (history, CSV, TensorBoard).

Example:

```python
vae.fit(x_train, epochs=30, callbacks=[KLWarmup(10)])          # 0 -> beta over 10 epochs
vae.fit(x_train, epochs=40, callbacks=[CyclicalKLAnnealing(4)])  # Fu et al. (2019)
```
"""

import warnings

import keras

UNITS = ("epochs", "steps")


class KLSchedule(keras.callbacks.Callback):
    """Base class: sets `model.kl_weight = model.beta * self.fraction(step)` before each step.

    Subclasses implement `fraction(step)`, the schedule's value in [0, 1] at
    training step `step` (counted from 0 over the whole run; `initial_epoch`
    is respected). `self.steps_per_epoch` and `self.total_steps` are known
    once training begins.
    """

    first_batch = 0
    _run_length = None

    def finish_epoch(self, batch, steps_per_epoch, epochs):
        """Sets up a `fit` that finishes an epoch begun in an earlier process.

        Its first `batch` steps are done, and the whole run is `epochs` epochs
        of `steps_per_epoch` steps (the short `fit` itself cannot tell).
        """
        self.first_batch = batch
        self._run_length = (steps_per_epoch, epochs)

    def on_train_begin(self, logs=None):
        steps, epochs = self._run_length or (self.params.get("steps"), self.params["epochs"])
        self._run_length = None
        if not steps:
            raise ValueError(
                f"{type(self).__name__} needs the number of steps per epoch; pass "
                "steps_per_epoch to fit (the dataset's length is unknown)."
            )
        self.steps_per_epoch = steps
        self.total_steps = steps * epochs
        self._epoch = 0
        every = getattr(self.model, "steps_per_execution", 1)
        if every > 1:
            warnings.warn(
                f"{type(self).__name__} sets the KL weight before each call of the compiled "
                f"step: with steps_per_execution={every} it changes every {every} steps. "
                "Compile with steps_per_execution=1 for a weight that changes every step.",
                stacklevel=2,
            )

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self.first_batch = 0

    def on_train_batch_begin(self, batch, logs=None):
        step = self._epoch * self.steps_per_epoch + self.first_batch + batch
        fraction = self.fraction(step)
        self.model.kl_weight.assign(self.model.beta * min(max(float(fraction), 0.0), 1.0))

    def fraction(self, step):
        raise NotImplementedError


class KLWarmup(KLSchedule):
    """KL warm-up: the weight grows linearly from 0 to `beta`, then stays.

    The weight rises a little at every step, over `duration` epochs or steps
    (Bowman et al., 2016; Sønderby et al., 2016). Early on the model learns
    to reconstruct before the KL term can switch latent dimensions off.

    Args:
        duration: Length of the warm-up (> 0), in `unit`s.
        unit: `"epochs"` or `"steps"`.

    Example:

    >>> vae.fit(x_train, epochs=30, callbacks=[KLWarmup(10)])
    """

    def __init__(self, duration, unit="epochs"):
        super().__init__()
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}; got {unit!r}.")
        if not duration > 0:
            raise ValueError(f"duration must be > 0 {unit}; got {duration!r}.")
        self.duration = duration
        self.unit = unit

    def fraction(self, step):
        steps = self.duration * (self.steps_per_epoch if self.unit == "epochs" else 1)
        return step / steps


class CyclicalKLAnnealing(KLSchedule):
    """Cyclical KL annealing (Fu et al., 2019): `cycles` warm-ups over the run.

    The run is cut into `cycles` equal cycles; in each, the weight rises
    linearly from 0 to `beta` over the first `ratio` of the cycle, then stays
    at `beta`. Fu et al. use 4 cycles with ratio 0.5.

    Args:
        cycles: Number of cycles over the whole `fit` (>= 1).
        ratio: Fraction of each cycle spent increasing, in (0, 1].
    """

    def __init__(self, cycles=4, ratio=0.5):
        super().__init__()
        if not (isinstance(cycles, int) and cycles >= 1):
            raise ValueError(f"cycles must be an integer >= 1; got {cycles!r}.")
        if not 0 < ratio <= 1:
            raise ValueError(f"ratio must be in (0, 1]; got {ratio!r}.")
        self.cycles = cycles
        self.ratio = ratio

    def fraction(self, step):
        cycle_length = self.total_steps / self.cycles
        position = (step % cycle_length) / cycle_length
        return position / self.ratio
