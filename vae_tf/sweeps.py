"""Old home of the sweeps: kept for one release; see `vae_tf.runs.sweeps`."""

from vae_tf.runs.sweeps import COLUMNS  # noqa: F401
from vae_tf.runs.sweeps import point_dir  # noqa: F401
from vae_tf.runs.sweeps import read_sweep  # noqa: F401
from vae_tf.runs.sweeps import run_sweep  # noqa: F401
from vae_tf.runs.sweeps import write_sweep  # noqa: F401
