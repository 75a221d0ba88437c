"""The model family: one base, one training step, variants that supply loss terms.

- `base.LatentVariableModel`: networks, input checks, likelihood, prior,
  metrics, encode/decode/sample/reconstruct and the ONE `train_step` and
  `test_step`.
- `objective`: the batch objective from per-example `LossTerms`, on one
  device or across replicas.
- `priors`: `Prior` (`log_prob`, `sample`, closed-form KL), `StandardNormal`,
  `MixtureOfGaussians` and `VampPrior`.
- `vae.VAE` (the ELBO or IWAE bound, any prior), `hierarchical.HierarchicalVAE`
  (two stochastic layers) and `autoencoder.Autoencoder`: the variants.

Example:

```python
vae = vae_tf.models.VAE(*vae_tf.build_encoder_decoder("conv", 2))
vae.prior.sample(4, seed=0)      # codes from N(0, I)
```
"""

from vae_tf.models.autoencoder import Autoencoder
from vae_tf.models.base import DECODER_OUTPUTS
from vae_tf.models.base import LIKELIHOODS
from vae_tf.models.base import MIN_LOG_SIGMA
from vae_tf.models.base import LatentVariableModel
from vae_tf.models.hierarchical import HierarchicalVAE
from vae_tf.models.objective import LossTerms
from vae_tf.models.priors import MixtureOfGaussians
from vae_tf.models.priors import Prior
from vae_tf.models.priors import StandardNormal
from vae_tf.models.priors import VampPrior
from vae_tf.models.vae import VAE

__all__ = [
    "Autoencoder",
    "DECODER_OUTPUTS",
    "HierarchicalVAE",
    "LIKELIHOODS",
    "LatentVariableModel",
    "LossTerms",
    "MIN_LOG_SIGMA",
    "MixtureOfGaussians",
    "Prior",
    "StandardNormal",
    "VAE",
    "VampPrior",
]
