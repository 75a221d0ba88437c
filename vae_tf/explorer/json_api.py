"""What every explorer's JSON API shares: its errors, the checks of common fields, routing.

Two explorers stand on it: `api.Explorer` (flat codes: the map and the
sliders) and `code_grid.CodeGridExplorer` (a VQ-VAE's maps of codebook
indices). `ExplorerApi` holds the backend and the images to show, checks the
fields both take (`label`, `count`, `seed`, `encoding`), turns images into
what the page takes, and routes `method path` to a subclass's endpoints.

Example (a subclass):

```python
class Echo(ExplorerApi):
    def endpoints(self):
        return {"/api/info": lambda: {"name": self.name}}, {}

Echo(KerasBackend(model)).route("GET", "/api/info")   # {"name": "model"}
```
"""

import numpy as np

from vae_tf.utils.images import data_url

# At most this many codes (or index maps) in one request: a page asks for one
# at a time, and a request of thousands would hold the server for seconds.
MAX_CODES = 256
# Test images in the page's strip.
EXAMPLES = 16


class RequestError(ValueError):
    """A request the explorer cannot answer; its message says why and what to send."""


class MethodNotAllowed(LookupError):
    """The endpoint exists, for another HTTP method (`allowed`)."""

    def __init__(self, message, allowed):
        super().__init__(message)
        self.allowed = allowed


class ExplorerApi:
    """Base of an explorer's state: a backend, the images it shows, the shared checks.

    Subclasses implement `endpoints()` and set `page` (the HTML file of
    `static/` served at `/`) and `example_body` (a request body quoted in
    the message that refuses a body that is not a JSON object).

    Args:
        backend: A `KerasBackend` or `SavedModelBackend`.
        images: Images `(N, H, W, C)` in [0, 1] to encode (the run's test
            images), or None.
        labels: Their integer labels, or None. Needed by conditional models
            to encode the images.
        name: What the page calls the model (the run directory's name).
    """

    page = "index.html"
    example_body = "{}"

    def __init__(self, backend, images=None, labels=None, name="model"):
        self.backend = backend
        self.name = name
        self.num_classes = backend.num_classes
        if images is not None and self.num_classes and labels is None:
            raise ValueError("A conditional model encodes images with their labels: pass labels.")
        self.images = None if images is None else np.asarray(images, "float32")
        self.labels = None if labels is None else np.asarray(labels).astype("int64")

    @property
    def has_images(self):
        return self.images is not None and len(self.images) > 0

    @property
    def condition(self):
        """The labels the encoder takes with the images (None for other models)."""
        return self.labels if self.num_classes else None

    # -- checks of the fields every explorer takes ---------------------------

    def _labels(self, request, count):
        """The `"label"` of a request as `(count,)` int32 classes, or None for other models."""
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

    def _count_and_seed(self, request):
        """`"count"` (1 to MAX_CODES, default 1) and `"seed"` (a non-negative int32, default 0)."""
        count = self._integer(request, "count", 1, 1, MAX_CODES)
        return count, self._integer(request, "seed", 0, 0, 2**31 - 1)

    @staticmethod
    def _encoding(request):
        encoding = request.get("encoding", "png")
        if encoding not in ("png", "list"):
            raise RequestError(f'"encoding" must be "png" or "list"; got {encoding!r}.')
        return encoding

    @staticmethod
    def _images(images, encoding):
        """Images as PNG data URLs, or as nested lists of floats in [0, 1] (4 decimals)."""
        if encoding == "png":
            return [data_url(image) for image in images]
        return np.round(np.clip(np.asarray(images, "float64"), 0.0, 1.0), 4).tolist()

    def _example_strip(self, codes, key):
        """The first test images (PNG), their `codes` under `key`, their labels."""
        if codes is None:
            return {"images": [], key: [], "labels": None}
        count = min(EXAMPLES, len(codes))
        return {
            "images": self._images(self.images[:count], "png"),
            key: codes[:count].tolist(),
            "labels": None if self.labels is None else self.labels[:count].tolist(),
        }

    # -- routing --------------------------------------------------------------

    def endpoints(self):
        """`(reads, writes)`: `{path: method()}` for GET, `{path: method(request)}` for POST."""
        raise NotImplementedError

    def route(self, method, path, request=None):
        """The answer to `method path` (with `request`, the decoded JSON body of a POST).

        Raises:
            RequestError: bad input (HTTP 400).
            LookupError: no such endpoint (HTTP 404; 405 when only the method is wrong).
        """
        reads, writes = self.endpoints()
        if method == "GET" and path in reads:
            return reads[path]()
        if method == "POST" and path in writes:
            if not isinstance(request, dict):
                raise RequestError(
                    f"The request body must be a JSON object, e.g. {self.example_body}."
                )
            return writes[path](request)
        if path in reads or path in writes:
            allowed = "GET" if path in reads else "POST"
            raise MethodNotAllowed(f"{path} answers {allowed} requests, not {method}.", allowed)
        raise LookupError(
            f"No endpoint {path}; the API has {', '.join(sorted({**reads, **writes}))}."
        )
