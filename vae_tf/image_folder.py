"""Old home of `ImageFolder`: kept for one release; import from `vae_tf.data`."""

from vae_tf.data.image_folder import BAD_IMAGES  # noqa: F401
from vae_tf.data.image_folder import IMAGE_EXTENSIONS  # noqa: F401
from vae_tf.data.image_folder import ImageFolder  # noqa: F401
