"""Figures of data with known factors: one latent traversal per factor.

Example:

```python
factor_traversal_figure(vae, x_test, shape_factors("test"), FACTOR_NAMES).savefig("f.png")
```
"""

import numpy as np
from matplotlib.figure import Figure

from vae_tf.latent import encode_means
from vae_tf.metrics.disentanglement import mutual_information_gap
from vae_tf.plotting.drawing import decode
from vae_tf.plotting.drawing import strip_axes
from vae_tf.utils.images import tile_images


def factor_traversal_figure(
    model,
    images,
    factors,
    factor_names,
    labels=None,
    steps=11,
    value_range=(-3.0, 3.0),
):
    """For each known factor, the latent dimension that carries most of it, traversed.

    The codes of `images` (posterior means) are compared with their
    `factors` (`mutual_information_gap`); each row varies the most
    informative dimension of one factor over `value_range` around the code
    of `images[0]`, the other dimensions held. The row says the dimension
    and the factor's normalized gap: a disentangled model changes only that
    factor along its row.
    """
    images = np.asarray(images, "float32")
    codes = encode_means(model, images, labels)
    result = mutual_information_gap(codes, factors, factor_names=factor_names)
    values = np.linspace(*value_range, steps)
    strips, row_labels = [], []
    for name, dimension, gap in zip(factor_names, result["best_dimensions"], result["gaps"]):
        path = np.repeat(codes[:1], steps, axis=0)
        path[:, dimension] = values
        row_label = None if labels is None else np.repeat(np.asarray(labels)[:1], steps)
        strips.append(tile_images(decode(model, path, row_label), 1, steps))
        row_labels.append(f"{name}\nz[{dimension}], gap {gap:.2f}")
    fig = Figure(figsize=(1.0 * steps + 1.6, 1.15 * len(strips) + 0.8))
    axes = strip_axes(
        fig,
        len(strips),
        strips,
        row_labels,
        f"One traversal per factor ({value_range[0]:g} to {value_range[1]:g}), the dimension "
        f"most informative about it; MIG {result['mig']:.3f}",
    )
    axes[-1].set_xlabel("value of the varied dimension")
    return fig
