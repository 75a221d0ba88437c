"""Measures of trained models beyond likelihood (one subject a module).

- `sample_quality`: the Fréchet distance of feature sets, and the precision
  and recall of a generative model (k-NN manifolds).

Example:

```python
from vae_tf.metrics import frechet_distance, precision_recall
```
"""

from vae_tf.metrics.sample_quality import frechet_distance
from vae_tf.metrics.sample_quality import gaussian_frechet_distance
from vae_tf.metrics.sample_quality import precision_recall

__all__ = ["frechet_distance", "gaussian_frechet_distance", "precision_recall"]
