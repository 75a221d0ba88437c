"""The JSON API of the code-grid page: a VQ-VAE's maps of codebook indices, edited cell by cell.

A VQ-VAE's code is no vector of floats but an `(h, w)` map of integers in
`[0, K)` (7x7 for 28x28 images), one codebook vector per cell. The page shows
the map of a test image (or of a prior sample) as a grid of cells, and
decodes it again each time a cell gets another code. `CodeGridExplorer`
answers it; its checks of labels, counts, seeds and encodings, its images and
its routing are the flat-code explorer's (`json_api.ExplorerApi`).

Endpoints (see `CodeGridExplorer.endpoints`):

- `GET /api/info`: `codes: "index maps"`, `code_shape` `[h, w]`, `codebook_size`,
  `usage` (how often each code appears in the encoded images), sizes, classes.
- `GET /api/examples`: a strip of the test images with their index maps.
- `POST /api/decode`: `{"indices": [map, ...], "label": ...}` -> `{"images": [...]}`.
- `POST /api/sample`: `{"count": n, "seed": s, "label": ...}` -> index maps drawn
  from the prior and their images.

Example:

```python
grid = CodeGridExplorer(KerasBackend(vq_model), images=x_test[:2000])
indices = grid.route("GET", "/api/examples")["indices"][0]    # 7 lists of 7 ints
indices[3][3] = 5                                             # another code in one cell
grid.route("POST", "/api/decode", {"indices": [indices]})["images"][0][:30]
```
"""

import numpy as np

from vae_tf.explorer.json_api import MAX_CODES
from vae_tf.explorer.json_api import ExplorerApi
from vae_tf.explorer.json_api import RequestError


def has_index_maps(backend):
    """Whether `backend`'s codes are maps of codebook indices (integers, `(h, w)`)."""
    return np.issubdtype(np.dtype(backend.code_dtype), np.integer) and len(backend.code_shape) == 2


class CodeGridExplorer(ExplorerApi):
    """The state behind the code-grid page: a VQ-VAE backend and the images it shows.

    Args:
        backend: A `KerasBackend` or `SavedModelBackend` of a model whose
            codes are index maps (`has_index_maps`).
        images: Images `(N, H, W, C)` in [0, 1] to encode for the strip and
            the codes' usage (the run's test images), or None.
        labels: Their integer labels, or None. Needed by conditional models.
        name: What the page calls the model (the run directory's name).
    """

    page = "codes.html"
    example_body = '{"indices": [[[0, 5, ...], [...], ...]]} (one map: h rows of w indices)'

    def __init__(self, backend, images=None, labels=None, name="model"):
        if not has_index_maps(backend):
            raise ValueError(
                f"The code-grid page shows maps of codebook indices, (h, w) integers; this "
                f"model's codes have shape {backend.code_shape} ({backend.code_dtype}). Flat "
                "codes have the latent-space page: vae_tf.explorer.Explorer."
            )
        super().__init__(backend, images, labels, name)
        self.code_shape = tuple(int(size) for size in backend.code_shape)
        self.codebook_size, self.code_dim = backend.codebook_shape
        self.codes = None
        self.usage = np.zeros(self.codebook_size, "int64")
        if self.has_images:
            self.codes = np.asarray(backend.encode(self.images, self.condition)[0], "int64")
            self.usage = np.bincount(self.codes.ravel(), minlength=self.codebook_size)

    # -- request checks ------------------------------------------------------

    def _index_maps(self, value, name="indices"):
        """`value` as int32 index maps `(N, h, w)`, or a RequestError naming the first fault."""
        height, width = self.code_shape
        last = self.codebook_size - 1
        if not isinstance(value, list) or not value:
            raise RequestError(
                f'"{name}" must be a non-empty list of index maps, each a list of {height} rows '
                f"of {width} integers from 0 to {last} (codebook indices), as /api/examples "
                "gives them."
            )
        if len(value) > MAX_CODES:
            raise RequestError(
                f'"{name}" holds {len(value)} index maps; at most {MAX_CODES} per request.'
            )
        for index, rows in enumerate(value):
            if not isinstance(rows, list) or len(rows) != height:
                raise RequestError(
                    f'"{name}"[{index}] must be a list of {height} rows (the code map is '
                    f"{height}x{width}); got {_size(rows)}."
                )
            for row_index, row in enumerate(rows):
                if not isinstance(row, list) or len(row) != width:
                    raise RequestError(
                        f'"{name}"[{index}][{row_index}] must be a row of {width} codebook '
                        f"indices; got {_size(row)}."
                    )
                for column, code in enumerate(row):
                    where = f'"{name}"[{index}][{row_index}][{column}]'
                    if isinstance(code, bool) or not isinstance(code, int):
                        raise RequestError(
                            f"{where} is {code!r}: codebook indices are integers from 0 to {last}."
                        )
                    if not 0 <= code <= last:
                        raise RequestError(
                            f"{where} is {code}, outside the codebook: indices go from 0 to "
                            f"{last} (codebook_size {self.codebook_size})."
                        )
        return np.asarray(value, "int32")

    # -- endpoints -----------------------------------------------------------

    def info(self):
        """What the page needs to lay itself out."""
        return {
            "name": self.name,
            "backend": self.backend.description,
            "codes": "index maps",
            "code_shape": list(self.code_shape),
            "codebook_size": self.codebook_size,
            "code_dim": self.code_dim,
            "image_shape": list(self.backend.image_shape),
            "num_classes": self.num_classes,
            "prior": self.backend.prior_name,
            "usage": self.usage.tolist(),
            "num_images": 0 if self.codes is None else len(self.codes),
            "labelled": self.labels is not None,
            "max_codes": MAX_CODES,
        }

    def examples(self):
        """The first images with their index maps (and labels), to start from."""
        return self._example_strip(self.codes, "indices")

    def decode(self, request):
        """`{"indices": maps, "label": ...}` -> `{"images": [...]}`, one per map."""
        indices = self._index_maps(request.get("indices"))
        labels = self._labels(request, len(indices))
        encoding = self._encoding(request)
        return {"images": self._images(self.backend.decode(indices, labels), encoding)}

    def sample(self, request):
        """`{"count": n, "seed": s, "label": ...}` -> `{"indices": prior maps, "images": ...}`.

        A conditional model's prior draws each label's maps, which decode
        with the same labels.
        """
        count, seed = self._count_and_seed(request)
        encoding = self._encoding(request)
        labels = self._labels(request, count)
        indices = np.asarray(self.backend.prior_codes(count, seed, labels), "int32")
        return {
            "indices": indices.tolist(),
            "images": self._images(self.backend.decode(indices, labels), encoding),
        }

    def endpoints(self):
        reads = {"/api/info": self.info, "/api/examples": self.examples}
        writes = {"/api/decode": self.decode, "/api/sample": self.sample}
        return reads, writes


def _size(value):
    """How a wrong row or map is described: its length, or its type."""
    return f"a list of {len(value)}" if isinstance(value, list) else type(value).__name__
