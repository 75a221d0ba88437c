"""Callbacks that drive a VAE's KL weight during `fit`: warm-up and cyclical annealing.

Both give every training step the weight `model.beta * fraction(step)`,
computed in Python from the step's index. With one step per call of the
compiled function they set `model.kl_weight` (a variable the step reads, so
nothing retraces) before each call; with several (`steps_per_execution`),
before each call they load the weights of the call's steps into a
`KLWeightFeed` that the training step reads one by one. So a schedule keeps
the speed of several steps per call and every step its own weight. The weight
used is logged per epoch as `kl_weight` (history, CSV, TensorBoard).

Example:

```python
vae.fit(x_train, epochs=30, callbacks=[KLWarmup(10)])          # 0 -> beta over 10 epochs
vae.fit(x_train, epochs=40, callbacks=[CyclicalKLAnnealing(4)])  # Fu et al. (2019)
```
"""

import keras
import numpy as np
import tensorflow as tf

UNITS = ("epochs", "steps")


class KLWeightFeed:
    """The KL weights of the steps of one call of a compiled training function, in order.

    The schedule `load`s them before each call; the training step takes the
    next one (`next_weight`) and sets `model.kl_weight` to it. Its two
    variables belong to no layer: they are neither saved nor exported.

    Example:

    >>> feed = KLWeightFeed(3)
    >>> feed.load([0.1, 0.2, 0.3])
    >>> float(feed.next_weight()), float(feed.next_weight())
    (0.1, 0.2)
    """

    def __init__(self, steps):
        self.weights = tf.Variable(tf.zeros((steps,)), trainable=False, name="kl_weights")
        self.position = tf.Variable(0, trainable=False, name="kl_weight_position")

    def load(self, weights):
        """The weights of the next call's steps, from its first step on."""
        self.weights.assign(np.asarray(weights, "float32"))
        self.position.assign(0)

    def next_weight(self):
        """The weight of this step (the last one loaded if a call outruns the feed)."""
        last = self.weights.shape[0] - 1
        weight = self.weights[tf.minimum(self.position, last)]
        self.position.assign_add(1)
        return weight


class KLSchedule(keras.callbacks.Callback):
    """Base class: gives each step the KL weight `model.beta * self.fraction(step)`.

    Subclasses implement `fraction(step)`, the schedule's value in [0, 1] at
    training step `step` (counted from 0 over the whole run; `initial_epoch`
    is respected). `self.steps_per_epoch` and `self.total_steps` are known
    once training begins.
    """

    first_batch = 0
    _run_length = None
    _feed = None  # the feed of the fit under way, with several steps per call

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
        self._attach_feed()

    def _attach_feed(self):
        """With several steps per call, gives the training step a feed of their weights.

        Here, after fit made its training function and before its first call:
        the function is made again, to read the feed when it is traced. The
        model drops the feed when its fit ends, however it ends.
        """
        model = self.model
        every = getattr(model, "steps_per_execution", 1) or 1
        if every == 1:
            return
        if not hasattr(model, "kl_weight_feed"):
            raise ValueError(
                f"{type(self).__name__} drives a vae_tf model's KL weight at every step; "
                f"{type(model).__name__} has no kl_weight_feed. Compile it with "
                "steps_per_execution=1, where the weight is set before every step."
            )
        if model.distribute_strategy.num_replicas_in_sync > 1:
            # Keras runs one step per call under a strategy (keras-team/keras#19246);
            # replicas would each advance one shared feed.
            return
        self._feed = KLWeightFeed(every)
        model.kl_weight_feed = self._feed
        model.make_train_function(force=True)

    def on_train_end(self, logs=None):
        self._feed = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self.first_batch = 0

    def on_train_batch_begin(self, batch, logs=None):
        # `batch` is the first step of the call; a call runs up to the feed's
        # length of steps (one without a feed).
        step = self._epoch * self.steps_per_epoch + self.first_batch + batch
        steps = 1 if self._feed is None else self._feed.weights.shape[0]
        weights = [self.weight(step + offset) for offset in range(steps)]
        if self._feed is None:
            self.model.kl_weight.assign(weights[0])
        else:
            self._feed.load(weights)

    def weight(self, step):
        """The KL weight of training step `step`: `beta * fraction(step)`, clipped to [0, beta]."""
        return self.model.beta * min(max(float(self.fraction(step)), 0.0), 1.0)

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
