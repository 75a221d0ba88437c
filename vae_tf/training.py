"""Old home of the training loop and run files: kept for one release; see `vae_tf.runs`."""

from vae_tf.callbacks import EpochTimer  # noqa: F401
from vae_tf.runs import PRECISIONS  # noqa: F401
from vae_tf.runs import TrainConfig  # noqa: F401
from vae_tf.runs import TrainResult  # noqa: F401
from vae_tf.runs import build_model  # noqa: F401
from vae_tf.runs import default_output_dir  # noqa: F401
from vae_tf.runs import image_shape  # noqa: F401
from vae_tf.runs import kl_schedule  # noqa: F401
from vae_tf.runs import likelihood  # noqa: F401
from vae_tf.runs import load_run  # noqa: F401
from vae_tf.runs import read_config  # noqa: F401
from vae_tf.runs import read_history  # noqa: F401
from vae_tf.runs import split_images  # noqa: F401
from vae_tf.runs import train  # noqa: F401
