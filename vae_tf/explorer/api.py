"""The explorer's JSON API, apart from HTTP: requests in, responses out, bad input refused.

`Explorer` holds a backend (see `backends`), the images it shows and what is
computed from them once (their codes, the order of the latent dimensions by
use, the slider ranges). Its methods take the decoded JSON of a request and
return the JSON-ready answer, or raise `RequestError` with a message that
names the problem; the server turns that into HTTP 400.

Endpoints (see `Explorer.route`):

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
from vae_tf.utils.images import data_url

MAX_CODES = 256
MAX_STEPS = 64
MAX_SLIDERS = 16
EXAMPLES = 16


class RequestError(ValueError):
    """A request the explorer cannot answer; its message says why and what to send."""


def _slider_ranges(codes, latent_dim):
    """Per dimension, [-3, 3] (the prior's bulk) widened to the codes' 0.5-99.5% range."""
    low, high = np.full(latent_dim, -3.0), np.full(latent_dim, 3.0)
    if codes is not None and len(codes):
        low = np.minimum(low, np.percentile(codes, 0.5, axis=0))
        high = np.maximum(high, np.percentile(codes, 99.5, axis=0))
    return np.stack([low, high], axis=1)


class Explorer:
    """The state behind one explorer page: a model backend and the images it shows.

    Args:
        backend: A `KerasBackend` or `SavedModelBackend`.
        images: Images `(N, H, W, C)` in [0, 1] to encode for the map and the
            strip (the run's test images), or None.
        labels: Their integer labels, or None. Needed by conditional models
            to encode the images.
        name: What the page calls the model (the run directory's name).
    """

    def __init__(self, backend, images=None, labels=None, name="model"):
        if len(backend.code_shape) != 1:
            raise ValueError(
                f"The explorer's page shows flat codes, one slider per dimension; this model's "
                f"codes have shape {backend.code_shape}. Decode and encode them through "
                "vae_tf.explorer.KerasBackend or the SavedModel's endpoints instead."
            )
        self.backend = backend
        self.name = name
        self.latent_dim = backend.latent_dim
        self.num_classes = backend.num_classes
        if images is not None and self.num_classes and labels is None:
            raise ValueError("A conditional model encodes images with their labels: pass labels.")
        self.images = None if images is None else np.asarray(images, "float32")
        self.labels = None if labels is None else np.asarray(labels).astype("int64")
        self.codes = None
        usage, self.usage_name = np.zeros(self.latent_dim), "none"
        if self.images is not None and len(self.images):
            condition = self.labels if self.num_classes else None
            # One pass of the encoder gives both the usage and the codes.
            usage, self.usage_name, self.codes = backend.dimension_usage(self.images, condition)
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

    def _labels(self, request, count):
        value = request.get("label")
        if not self.num_classes:
            if value is not None:
                raise RequestError('This model is not conditional: send no "label".')
            return None
        if value is None:
            raise RequestError(
                f'This model is conditional: send "label", a class from 0 to '
                f"{self.num_classes - 1} (one for all codes, or a list of one per code)."
            )
        labels = value if isinstance(value, list) else [value]
        if len(labels) not in (1, count):
            raise RequestError(
                f'"label" must be one class or a list of {count} (one per code); got {len(labels)}.'
            )
        for label in labels:
            if (
                isinstance(label, bool)
                or not isinstance(label, int)
                or not (0 <= label < self.num_classes)
            ):
                raise RequestError(
                    f'"label" must hold classes from 0 to {self.num_classes - 1}; got {label!r}.'
                )
        return np.broadcast_to(np.asarray(labels, "int32"), (count,))

    @staticmethod
    def _integer(request, name, default, low, high):
        value = request.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise RequestError(f'"{name}" must be an integer from {low} to {high}; got {value!r}.')
        return value

    @staticmethod
    def _encoding(request):
        encoding = request.get("encoding", "png")
        if encoding not in ("png", "list"):
            raise RequestError(f'"encoding" must be "png" or "list"; got {encoding!r}.')
        return encoding

    def _images(self, images, encoding):
        if encoding == "png":
            return [data_url(image) for image in images]
        return np.round(np.clip(images.astype("float64"), 0.0, 1.0), 4).tolist()

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
        if self.codes is None:
            return {"images": [], "z": [], "labels": None}
        count = min(EXAMPLES, len(self.codes))
        return {
            "images": self._images(self.images[:count], "png"),
            "z": self.codes[:count].tolist(),
            "labels": None if self.labels is None else self.labels[:count].tolist(),
        }

    def decode(self, request):
        """`{"z": codes, "label": ...}` -> `{"images": [...]}`."""
        z = self._codes(request.get("z"))
        labels = self._labels(request, len(z))
        encoding = self._encoding(request)
        return {"images": self._images(self.backend.decode(z, labels), encoding)}

    def sample(self, request):
        """`{"count": n, "seed": s}` -> `{"z": prior codes, "images": ...}`."""
        count = self._integer(request, "count", 1, 1, MAX_CODES)
        seed = self._integer(request, "seed", 0, 0, 2**31 - 1)
        encoding = self._encoding(request)
        labels = self._labels(request, count)
        z = self.backend.prior_codes(count, seed)
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

    def route(self, method, path, request=None):
        """The answer to `method path` (with `request`, the decoded JSON body of a POST).

        Raises:
            RequestError: bad input (HTTP 400).
            LookupError: no such endpoint (HTTP 404; 405 when only the method is wrong).
        """
        reads = {"/api/info": self.info, "/api/map": self.map, "/api/examples": self.examples}
        writes = {
            "/api/decode": self.decode,
            "/api/sample": self.sample,
            "/api/interpolate": self.interpolate,
        }
        if method == "GET" and path in reads:
            return reads[path]()
        if method == "POST" and path in writes:
            if not isinstance(request, dict):
                raise RequestError('The request body must be a JSON object, e.g. {"z": [[0, 0]]}.')
            return writes[path](request)
        if path in reads or path in writes:
            allowed = "GET" if path in reads else "POST"
            raise MethodNotAllowed(f"{path} answers {allowed} requests, not {method}.", allowed)
        raise LookupError(
            f"No endpoint {path}; the API has {', '.join(sorted({**reads, **writes}))}."
        )


class MethodNotAllowed(LookupError):
    """The endpoint exists, for another HTTP method (`allowed`)."""

    def __init__(self, message, allowed):
        super().__init__(message)
        self.allowed = allowed
