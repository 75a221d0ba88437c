"""The explorer's JSON API for flat codes, apart from HTTP: requests in, responses out.

`Explorer` holds a backend (see `backends`), the images it shows and what is
computed from them once (their codes, the order of the latent dimensions by
use, the slider ranges). Its methods take the decoded JSON of a request and
return the JSON-ready answer, or raise `RequestError` with a message that
names the problem; the server turns that into HTTP 400. What it shares with
the VQ-VAE's page (`code_grid`), the checks of labels, counts, seeds and
encodings and the routing, is `json_api.ExplorerApi`.

Endpoints (see `Explorer.endpoints`):

- `GET /api/info`: sizes, classes, dimensions by use, ranges, what is available.
- `GET /api/map`: the codes and labels of the encoded images (2-D latent spaces).
- `GET /api/examples`: a strip of the images with their codes.
- `POST /api/decode`: `{"z": [[...], ...], "label": [...]}` -> `{"images": [...]}`.
- `POST /api/sample`: `{"count": n, "seed": s}` -> codes from the prior and their images.
- `POST /api/interpolate`: `{"z": [a, b], "steps": n}` -> linear and spherical paths.

Images come as PNG data URLs (`"encoding": "png"`, the default) or as nested
lists of floats in [0, 1] (`"encoding": "list"`), shape `(H, W, C)` each.

Example:

```python
explorer = Explorer(KerasBackend(model), images=x_test[:2000], labels=y_test[:2000])
explorer.route("POST", "/api/decode", {"z": [[0.0, 0.0]]})["images"][0][:30]
```
"""

import math

import numpy as np

from vae_tf import latent
from vae_tf.explorer.json_api import EXAMPLES  # noqa: F401 (the strip's size, as before)
from vae_tf.explorer.json_api import MAX_CODES
from vae_tf.explorer.json_api import ExplorerApi
from vae_tf.explorer.json_api import RequestError

MAX_STEPS = 64
MAX_SLIDERS = 16


def _slider_ranges(codes, latent_dim):
    """Per dimension, [-3, 3] (the prior's bulk) widened to the codes' 0.5-99.5% range."""
    low, high = np.full(latent_dim, -3.0), np.full(latent_dim, 3.0)
    if codes is not None and len(codes):
        low = np.minimum(low, np.percentile(codes, 0.5, axis=0))
        high = np.maximum(high, np.percentile(codes, 99.5, axis=0))
    return np.stack([low, high], axis=1)


class Explorer(ExplorerApi):
    """The state behind one explorer page of flat codes: a model backend and the images it shows.

    A model whose codes are maps of codebook indices (a VQ-VAE) has its own
    page, `code_grid.CodeGridExplorer`; `loading.explorer_for` picks.

    Args:
        backend: A `KerasBackend` or `SavedModelBackend`.
        images: Images `(N, H, W, C)` in [0, 1] to encode for the map and the
            strip (the run's test images), or None.
        labels: Their integer labels, or None. Needed by conditional models
            to encode the images.
        name: What the page calls the model (the run directory's name).
    """

    page = "index.html"
    example_body = '{"z": [[0, 0]]}'

    def __init__(self, backend, images=None, labels=None, name="model"):
        if len(backend.code_shape) != 1 or backend.code_dtype != "float32":
            raise ValueError(
                f"The explorer's page shows flat codes, one slider per dimension; this model's "
                f"codes have shape {backend.code_shape} ({backend.code_dtype}). Maps of "
                "codebook indices (a VQ-VAE's) have a page of their own: "
                "vae_tf.explorer.explorer_for(backend, ...) picks it; other codes decode and "
                "encode through vae_tf.explorer.KerasBackend or the SavedModel's endpoints."
            )
        super().__init__(backend, images, labels, name)
        self.latent_dim = backend.latent_dim
        self.codes = None
        usage, self.usage_name = np.zeros(self.latent_dim), "none"
        if self.has_images:
            # One pass of the encoder gives both the usage and the codes.
            usage, self.usage_name, self.codes = backend.dimension_usage(
                self.images, self.condition
            )
        self.usage = np.asarray(usage, "float64")
        self.order = [int(i) for i in np.argsort(-self.usage, kind="stable")]
        self.ranges = _slider_ranges(self.codes, self.latent_dim)

    # -- request checks ------------------------------------------------------

    def _codes(self, value, name="z"):
        if not isinstance(value, list) or not value:
            raise RequestError(
                f'"{name}" must be a non-empty list of codes, each a list of '
                f'{self.latent_dim} numbers, e.g. {{"{name}": [[{", ".join(["0"] * self.latent_dim)}]]}}.'
            )
        if len(value) > MAX_CODES:
            raise RequestError(
                f'"{name}" holds {len(value)} codes; at most {MAX_CODES} per request.'
            )
        for index, code in enumerate(value):
            if not isinstance(code, list) or len(code) != self.latent_dim:
                size = len(code) if isinstance(code, list) else type(code).__name__
                raise RequestError(
                    f'"{name}"[{index}] must be a list of {self.latent_dim} numbers (the '
                    f"model's latent size); got {size}."
                )
            for number in code:
                if isinstance(number, bool) or not isinstance(number, (int, float)):
                    raise RequestError(f'"{name}"[{index}] must hold numbers only; got {number!r}.')
                if not math.isfinite(number):
                    raise RequestError(
                        f'"{name}"[{index}] holds {number}: codes must be finite numbers.'
                    )
        return np.asarray(value, "float32")

    # -- endpoints -----------------------------------------------------------

    def info(self):
        """What the page needs to lay itself out."""
        return {
            "name": self.name,
            "backend": self.backend.description,
            "latent_dim": self.latent_dim,
            "image_shape": list(self.backend.image_shape),
            "num_classes": self.num_classes,
            "prior": self.backend.prior_name,
            "dimensions": [{"index": i, "usage": float(self.usage[i])} for i in self.order],
            "usage_name": self.usage_name,
            "sliders": self.order[:MAX_SLIDERS],
            "ranges": self.ranges.tolist(),
            "num_images": 0 if self.codes is None else len(self.codes),
            "labelled": self.labels is not None,
            "max_codes": MAX_CODES,
            "codes": "vectors",
        }

    def map(self):
        """The codes of the encoded images and their labels (2-D latent spaces only)."""
        if self.latent_dim != 2:
            raise RequestError(
                f"The map is for 2-D latent spaces; this model's has {self.latent_dim} "
                "dimensions (use the sliders)."
            )
        if self.codes is None:
            return {"z": [], "labels": None}
        return {
            "z": np.round(self.codes, 4).tolist(),
            "labels": None if self.labels is None else self.labels.tolist(),
        }

    def examples(self):
        """The first images with their codes (and labels), for "start from a test image"."""
        return self._example_strip(self.codes, "z")

    def decode(self, request):
        """`{"z": codes, "label": ...}` -> `{"images": [...]}`."""
        z = self._codes(request.get("z"))
        labels = self._labels(request, len(z))
        encoding = self._encoding(request)
        return {"images": self._images(self.backend.decode(z, labels), encoding)}

    def sample(self, request):
        """`{"count": n, "seed": s}` -> `{"z": prior codes, "images": ...}`."""
        count, seed = self._count_and_seed(request)
        encoding = self._encoding(request)
        labels = self._labels(request, count)
        z = self.backend.prior_codes(count, seed, labels)
        return {"z": z.tolist(), "images": self._images(self.backend.decode(z, labels), encoding)}

    def interpolate(self, request):
        """`{"z": [a, b], "steps": n}` -> `{"linear": {...}, "spherical": {...}}`, a to b."""
        z = self._codes(request.get("z"))
        if len(z) != 2:
            raise RequestError(f'"z" must hold two codes, the two ends; got {len(z)}.')
        steps = self._integer(request, "steps", 10, 2, MAX_STEPS)
        encoding = self._encoding(request)
        labels = self._labels(request, 1)
        labels = None if labels is None else np.repeat(labels, steps)
        fractions = np.linspace(0.0, 1.0, steps)
        paths = {
            "linear": latent.lerp(z[:1], z[1:], fractions)[0],
            "spherical": latent.slerp(z[:1], z[1:], fractions)[0],
        }
        return {
            name: {
                "z": path.tolist(),
                "images": self._images(
                    self.backend.decode(path.astype("float32"), labels), encoding
                ),
            }
            for name, path in paths.items()
        }

    def endpoints(self):
        reads = {"/api/info": self.info, "/api/map": self.map, "/api/examples": self.examples}
        writes = {
            "/api/decode": self.decode,
            "/api/sample": self.sample,
            "/api/interpolate": self.interpolate,
        }
        return reads, writes
