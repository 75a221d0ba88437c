"""Figures of a VAE. Every function returns a `matplotlib.figure.Figure`.

Figures are built without pyplot, so nothing needs a display and no global
figure state leaks between calls; save them with `fig.savefig(path)` (or
`save_figure`), or let Jupyter show them. One module per subject:

- `latent_space`: latent grid, scatter, model comparison, interpolation, traversal.
- `images`: reconstructions and prior samples; `conditional`: style grid, analogies,
  class interpolations.
- `curves`: loss curves, comparisons of runs and sweep trade-offs; `diagrams`:
  network diagrams; `disentanglement`: one traversal per known factor, and a
  disentanglement sweep's scores per model and value.
- `drawing`: shared helpers (images on axes, ticks, saving; `tile_images` is
  `vae_tf.utils.images`'s); `registry`: `FIGURES`,
  `default_figures`, `write_figures`.

The latent maths they use (grid coordinates, PCA, interpolation, batched
encoding) is `vae_tf.latent`, importable without matplotlib.

Example:

```python
fig = latent_grid_figure(vae, n=30, z_range=(-2, 2))
fig.savefig("latent_grid.png")
```
"""

from vae_tf.latent import encode_batches
from vae_tf.latent import encode_means
from vae_tf.latent import grid_axis_values
from vae_tf.latent import latent_grid_coordinates
from vae_tf.latent import lerp
from vae_tf.latent import pca
from vae_tf.latent import slerp
from vae_tf.plotting.conditional import analogies_figure
from vae_tf.plotting.conditional import class_interpolation_figure
from vae_tf.plotting.conditional import style_grid_figure
from vae_tf.plotting.curves import comparison_figure
from vae_tf.plotting.curves import loss_curves_figure
from vae_tf.plotting.curves import loss_metrics
from vae_tf.plotting.curves import sweep_figure
from vae_tf.plotting.diagrams import save_model_diagram
from vae_tf.plotting.disentanglement import disentanglement_sweep_figure
from vae_tf.plotting.disentanglement import factor_traversal_figure
from vae_tf.plotting.drawing import save_figure
from vae_tf.plotting.images import reconstructions_figure
from vae_tf.plotting.images import samples_figure
from vae_tf.plotting.latent_space import interpolation_figure
from vae_tf.plotting.latent_space import latent_grid_figure
from vae_tf.plotting.latent_space import latent_scatter_figure
from vae_tf.plotting.latent_space import latent_traversal_figure
from vae_tf.plotting.latent_space import model_comparison_figure
from vae_tf.plotting.registry import FIGURES
from vae_tf.plotting.registry import FigureSpec
from vae_tf.plotting.registry import default_figures
from vae_tf.plotting.registry import write_figures
from vae_tf.utils.images import tile_images

__all__ = [
    "FIGURES",
    "FigureSpec",
    "analogies_figure",
    "class_interpolation_figure",
    "comparison_figure",
    "default_figures",
    "disentanglement_sweep_figure",
    "encode_batches",
    "encode_means",
    "factor_traversal_figure",
    "grid_axis_values",
    "interpolation_figure",
    "latent_grid_coordinates",
    "latent_grid_figure",
    "latent_scatter_figure",
    "latent_traversal_figure",
    "loss_metrics",
    "lerp",
    "loss_curves_figure",
    "model_comparison_figure",
    "pca",
    "reconstructions_figure",
    "samples_figure",
    "save_figure",
    "save_model_diagram",
    "slerp",
    "style_grid_figure",
    "sweep_figure",
    "tile_images",
    "write_figures",
]
