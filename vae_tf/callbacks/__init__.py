"""Callbacks of training runs, one subject each.

- `kl_schedules`: KL warm-up and cyclical annealing (`KLWarmup`,
  `CyclicalKLAnnealing`, the `KLSchedule` base and its `KLWeightFeed`).
- `checkpoint`: `TrainingCheckpoint`, exact to the step, crash-proof.
- `best`: `BestCheckpoint`, the weights of the best epoch so far
  (`val_total_loss`), crash-proof.
- `time_limit`: `TimeLimit`, a wall-clock budget that ends `fit` at the end
  of the last epoch that fits.
- `interrupt`: `StopOnSignal`, Ctrl-C and SIGTERM that stop at a checkpoint
  (`TrainingInterrupted`), with the `SignalCatcher` of `vae_tf.utils.signals`.
- `nan_stop`: `StopOnNonFiniteLoss`, naming the epoch and the step.
- `timing`: `EpochTimer`, seconds per epoch in the history.
- `tensorboard`: `TensorBoardImages` (samples, reconstructions, latent grid
  per epoch), `TensorBoardProjector` (codes, sprite, labels), and
  `tensorboard_callbacks`, the set a run uses.
- `progress`: `StepProgressBar`, Keras' bar counting the last call's steps right.

Example:

```python
vae.fit(x_train, epochs=30, callbacks=[KLWarmup(10), EpochTimer()])
```
"""

from vae_tf.callbacks.best import BestCheckpoint
from vae_tf.callbacks.checkpoint import TrainingCheckpoint
from vae_tf.callbacks.checkpoint import load_training_state
from vae_tf.callbacks.interrupt import StopOnSignal
from vae_tf.callbacks.interrupt import TrainingInterrupted
from vae_tf.callbacks.kl_schedules import UNITS
from vae_tf.callbacks.kl_schedules import CyclicalKLAnnealing
from vae_tf.callbacks.kl_schedules import KLSchedule
from vae_tf.callbacks.kl_schedules import KLWarmup
from vae_tf.callbacks.kl_schedules import KLWeightFeed
from vae_tf.callbacks.nan_stop import StopOnNonFiniteLoss
from vae_tf.callbacks.progress import StepProgressBar
from vae_tf.callbacks.tensorboard import TensorBoardImages
from vae_tf.callbacks.tensorboard import TensorBoardProjector
from vae_tf.callbacks.tensorboard import tensorboard_callbacks
from vae_tf.callbacks.time_limit import TimeLimit
from vae_tf.callbacks.timing import EpochTimer

__all__ = [
    "BestCheckpoint",
    "CyclicalKLAnnealing",
    "EpochTimer",
    "KLSchedule",
    "KLWarmup",
    "KLWeightFeed",
    "StepProgressBar",
    "StopOnNonFiniteLoss",
    "StopOnSignal",
    "TensorBoardImages",
    "TensorBoardProjector",
    "TimeLimit",
    "TrainingCheckpoint",
    "TrainingInterrupted",
    "UNITS",
    "load_training_state",
    "tensorboard_callbacks",
]
