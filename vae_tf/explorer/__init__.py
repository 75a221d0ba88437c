"""A live latent-space explorer in the browser: a page and a JSON API served from Python.

- `backends`: the model behind it, a Keras model (`KerasBackend`) or a
  SavedModel used through its endpoints (`SavedModelBackend`).
- `json_api`: what both JSON APIs share (`RequestError`, the checks of
  labels, counts, seeds, encodings; routing).
- `api`: `Explorer`, the JSON API of flat codes apart from HTTP (checks,
  decoding, interpolation).
- `code_grid`: `CodeGridExplorer`, the JSON API of a VQ-VAE's maps of
  codebook indices (decode an edited map, sample maps from the prior).
- `server`: the standard library's threaded HTTP server of the page and API.
- `loading`: an explorer from a run directory or a SavedModel; `explorer_for`
  picks the page by the model's codes.
- `static/`: the pages (HTML, CSS, JavaScript), shipped in the package:
  `index.html` (flat codes), `codes.html` (the code grid), `common.js`.

Images reach the page as PNG data URLs (`vae_tf.utils.images`). Driving the
page in headless Chromium (tests, latency) is tooling, not library:
`tools/browser.py` in the repository.

Example (what `scripts/explore.py --run_dir=RUN` does):

```python
from vae_tf import explorer

server = explorer.make_server(explorer.load_explorer(run_dir="runs/conv_latent2_..."), port=0)
print(server.url)
server.serve_forever()
```
"""

from vae_tf.explorer.api import Explorer
from vae_tf.explorer.backends import KerasBackend
from vae_tf.explorer.backends import SavedModelBackend
from vae_tf.explorer.code_grid import CodeGridExplorer
from vae_tf.explorer.json_api import MAX_CODES
from vae_tf.explorer.json_api import RequestError
from vae_tf.explorer.loading import explorer_for
from vae_tf.explorer.loading import explorer_from_run
from vae_tf.explorer.loading import explorer_from_saved_model
from vae_tf.explorer.loading import load_explorer
from vae_tf.explorer.server import ExplorerServer
from vae_tf.explorer.server import make_server

__all__ = [
    "MAX_CODES",
    "CodeGridExplorer",
    "Explorer",
    "ExplorerServer",
    "KerasBackend",
    "RequestError",
    "SavedModelBackend",
    "explorer_for",
    "explorer_from_run",
    "explorer_from_saved_model",
    "load_explorer",
    "make_server",
]
