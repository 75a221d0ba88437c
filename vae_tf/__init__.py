"""vae_tf: Variational Autoencoders in Keras 3 on the TensorFlow backend.

Example:

```python
import vae_tf

encoder, decoder = vae_tf.build_encoder_decoder("conv", latent_dim=2)
vae = vae_tf.VAE(encoder, decoder)
vae.compile(optimizer="adam")
(x_train, _), _ = vae_tf.data.load_mnist()
vae.fit(x_train, epochs=1, batch_size=128)

pretrained = vae_tf.from_preset("mnist_conv_latent2")  # nothing to train
pretrained.decode([[0.0, 0.0]])
```
"""

import os

__version__ = "0.2.0"

_backend = os.environ.get("KERAS_BACKEND")
if _backend is None:
    os.environ["KERAS_BACKEND"] = "tensorflow"
elif _backend != "tensorflow":
    raise ImportError(
        f"vae_tf runs on the TensorFlow backend of Keras 3, but KERAS_BACKEND="
        f"{_backend!r}. Unset KERAS_BACKEND or set KERAS_BACKEND=tensorflow "
        "before importing vae_tf."
    )

from vae_tf.utils import startup as _startup  # noqa: E402

_startup.import_tensorflow()

import keras  # noqa: E402

if keras.backend.backend() != "tensorflow":
    # Keras was imported earlier, or ~/.keras/keras.json names another backend.
    raise ImportError(
        f"vae_tf runs on the TensorFlow backend of Keras 3, but Keras is using "
        f"{keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow (or "
        '"backend": "tensorflow" in ~/.keras/keras.json) and import vae_tf '
        "before anything else imports keras."
    )

from vae_tf import callbacks  # noqa: E402
from vae_tf import data  # noqa: E402
from vae_tf import distribute  # noqa: E402
from vae_tf import latent  # noqa: E402
from vae_tf import losses  # noqa: E402
from vae_tf import metrics  # noqa: E402
from vae_tf import models  # noqa: E402
from vae_tf import plotting  # noqa: E402
from vae_tf import presets  # noqa: E402
from vae_tf import runs  # noqa: E402
from vae_tf import utils  # noqa: E402
from vae_tf.callbacks import TrainingInterrupted  # noqa: E402
from vae_tf.export import export_saved_model  # noqa: E402
from vae_tf.export import load_saved_model  # noqa: E402
from vae_tf.models import DIPVAE  # noqa: E402
from vae_tf.models import VAE  # noqa: E402
from vae_tf.models import AnnealedVAE  # noqa: E402
from vae_tf.models import Autoencoder  # noqa: E402
from vae_tf.models import BetaTCVAE  # noqa: E402
from vae_tf.models import FactorVAE  # noqa: E402
from vae_tf.models import HierarchicalVAE  # noqa: E402
from vae_tf.models import StandardNormal  # noqa: E402
from vae_tf.models import TopDownHierarchicalVAE  # noqa: E402
from vae_tf.models.architectures import PRESETS  # noqa: E402
from vae_tf.models.architectures import build_decoder  # noqa: E402
from vae_tf.models.architectures import build_encoder  # noqa: E402
from vae_tf.models.architectures import build_encoder_decoder  # noqa: E402
from vae_tf.models.architectures import build_hierarchical_networks  # noqa: E402
from vae_tf.models.architectures import build_top_down_networks  # noqa: E402
from vae_tf.models.layers import Sampler  # noqa: E402
from vae_tf.presets import from_preset  # noqa: E402
from vae_tf.runs import TrainConfig  # noqa: E402
from vae_tf.runs import load_run  # noqa: E402
from vae_tf.runs import train  # noqa: E402
from vae_tf.utils.files import DamagedFileError  # noqa: E402
from vae_tf.utils.files import DiskFullError  # noqa: E402

__all__ = [
    "AnnealedVAE",
    "Autoencoder",
    "BetaTCVAE",
    "DIPVAE",
    "DamagedFileError",
    "DiskFullError",
    "FactorVAE",
    "HierarchicalVAE",
    "PRESETS",
    "Sampler",
    "StandardNormal",
    "TopDownHierarchicalVAE",
    "TrainConfig",
    "TrainingInterrupted",
    "VAE",
    "build_decoder",
    "build_encoder",
    "build_encoder_decoder",
    "build_hierarchical_networks",
    "build_top_down_networks",
    "callbacks",
    "data",
    "distribute",
    "export_saved_model",
    "from_preset",
    "latent",
    "load_run",
    "load_saved_model",
    "losses",
    "metrics",
    "models",
    "plotting",
    "presets",
    "runs",
    "train",
    "utils",
]
