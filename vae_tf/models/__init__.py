"""The model family: one base, one training step, variants that supply a posterior and loss terms.

- `base.LatentVariableModel`: networks, input checks, likelihood, prior,
  metrics, encode/decode/sample/reconstruct; with `step.OneStep`, the ONE
  `train_step` and `test_step`.
- `posteriors`: `Posterior` (`sample`, `log_prob`, `mean`, `code_shape`):
  `DiagonalGaussian`, `Deterministic`, `Quantized`, `TwoLayerGaussian`,
  `TopDownGaussian`, `FlowPosterior`.
- `flows`: the normalizing flows of a flow posterior, `PlanarFlow` and
  `InverseAutoregressiveFlow`.
- `objective`: named per-example `LossTerm`s and the batch objective they
  make, on one device or across replicas.
- `priors`: `Prior` (`log_prob`, `sample`, `kl(posterior)`), `StandardNormal`,
  `MixtureOfGaussians` and `VampPrior`.
- `registry`: the variants by name (`--model`), each with its class,
  settings, network builder and combination rules.
- `vae.VAE` (the ELBO or IWAE bound, any prior), `hierarchical.HierarchicalVAE`
  and `hierarchical.TopDownHierarchicalVAE`
  (two stochastic layers) and `autoencoder.Autoencoder`: the variants; the
  disentangling ones, `beta_tcvae.BetaTCVAE`, `factor_vae.FactorVAE`,
  `dip_vae.DIPVAE` and `annealed_vae.AnnealedVAE`; the MMD ones,
  `wae.WassersteinAutoencoder` and `info_vae.InfoVAE`; and `vq_vae.VQVAE`,
  discrete codes (`quantizer.VectorQuantizer`) with a PixelCNN prior over them
  (`code_prior.CodePixelCNN`).
- `architectures` and `layers`: the family's networks and layers;
  `optimizers.FusedAdam`, the Adam train.py compiles with.

Every module of the package is imported with it, so that a variant's module
registers its entry: a new variant is its module and its test.

Example:

```python
vae = vae_tf.models.VAE(*vae_tf.build_encoder_decoder("conv", 2))
vae.prior.sample(4, seed=0)      # codes from N(0, I)
vae.posterior(images).mean()     # the codes encode shows
vae_tf.models.registry.variant_names()   # ("vae", "autoencoder", ...)
```
"""

import importlib
import pkgutil

from vae_tf.models import registry

# First: the default variant heads the registry (--model's list, docs/flags.md).
from vae_tf.models import vae_variant  # noqa: F401
from vae_tf.models.autoencoder import Autoencoder
from vae_tf.models.base import DECODER_OUTPUTS
from vae_tf.models.base import LIKELIHOODS
from vae_tf.models.base import MIN_LOG_SIGMA
from vae_tf.models.base import LatentVariableModel
from vae_tf.models.flows import Flow
from vae_tf.models.flows import InverseAutoregressiveFlow
from vae_tf.models.flows import PlanarFlow
from vae_tf.models.hierarchical import HierarchicalVAE
from vae_tf.models.hierarchical import TopDownHierarchicalVAE
from vae_tf.models.objective import LossTerm
from vae_tf.models.optimizers import FusedAdam
from vae_tf.models.posteriors import Deterministic
from vae_tf.models.posteriors import DiagonalGaussian
from vae_tf.models.posteriors import FlowPosterior
from vae_tf.models.posteriors import Posterior
from vae_tf.models.posteriors import Quantized
from vae_tf.models.posteriors import TopDownGaussian
from vae_tf.models.posteriors import TwoLayerGaussian
from vae_tf.models.priors import MixtureOfGaussians
from vae_tf.models.priors import Prior
from vae_tf.models.priors import StandardNormal
from vae_tf.models.priors import VampPrior
from vae_tf.models.registry import Variant
from vae_tf.models.registry import register_variant
from vae_tf.models.vae import VAE

# The variants' modules register themselves on import.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from vae_tf.models.annealed_vae import AnnealedVAE  # noqa: E402
from vae_tf.models.beta_tcvae import BetaTCVAE  # noqa: E402
from vae_tf.models.code_prior import CodePixelCNN  # noqa: E402
from vae_tf.models.dip_vae import DIPVAE  # noqa: E402
from vae_tf.models.factor_vae import FactorVAE  # noqa: E402
from vae_tf.models.info_vae import InfoVAE  # noqa: E402
from vae_tf.models.quantizer import VectorQuantizer  # noqa: E402
from vae_tf.models.vq_vae import VQVAE  # noqa: E402
from vae_tf.models.wae import WassersteinAutoencoder  # noqa: E402

__all__ = [
    "AnnealedVAE",
    "Autoencoder",
    "BetaTCVAE",
    "CodePixelCNN",
    "DIPVAE",
    "DECODER_OUTPUTS",
    "Deterministic",
    "DiagonalGaussian",
    "FactorVAE",
    "Flow",
    "FlowPosterior",
    "HierarchicalVAE",
    "InfoVAE",
    "InverseAutoregressiveFlow",
    "LIKELIHOODS",
    "LatentVariableModel",
    "LossTerm",
    "FusedAdam",
    "MIN_LOG_SIGMA",
    "MixtureOfGaussians",
    "PlanarFlow",
    "Posterior",
    "Prior",
    "Quantized",
    "StandardNormal",
    "TopDownGaussian",
    "TopDownHierarchicalVAE",
    "TwoLayerGaussian",
    "VAE",
    "VQVAE",
    "Variant",
    "VampPrior",
    "VectorQuantizer",
    "WassersteinAutoencoder",
    "register_variant",
    "registry",
]
