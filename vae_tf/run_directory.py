"""Old home of `RunDirectory`: kept for one release; see `vae_tf.runs.directory`."""

from vae_tf.runs.config import RESUMABLE_CHANGES  # noqa: F401
from vae_tf.runs.directory import RunDirectory  # noqa: F401
from vae_tf.runs.directory import find_interrupted  # noqa: F401
