"""Old home of `VAE` and `Autoencoder`: kept for one release; import from `vae_tf.models`."""

from vae_tf.models import DECODER_OUTPUTS  # noqa: F401
from vae_tf.models import LIKELIHOODS  # noqa: F401
from vae_tf.models import MIN_LOG_SIGMA  # noqa: F401
from vae_tf.models import VAE  # noqa: F401
from vae_tf.models import Autoencoder  # noqa: F401
