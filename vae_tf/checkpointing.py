"""Old home of the checkpoint and NaN-stop callbacks: kept for one release; see vae_tf.callbacks."""

from vae_tf.callbacks import StopOnNonFiniteLoss  # noqa: F401
from vae_tf.callbacks import TrainingCheckpoint  # noqa: F401
from vae_tf.callbacks import load_training_state  # noqa: F401
