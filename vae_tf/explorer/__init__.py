"""A live latent-space explorer in the browser: a page and a JSON API served from Python.

- `backends`: the model behind it, a Keras model (`KerasBackend`) or a
  SavedModel used through its endpoints (`SavedModelBackend`).
- `api`: `Explorer`, the JSON API apart from HTTP (checks, decoding,
  interpolation).
- `server`: the standard library's threaded HTTP server of the page and API.
- `loading`: an `Explorer` from a run directory or a SavedModel.
- `static/`: the page (HTML, CSS, JavaScript), shipped in the package.

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

from vae_tf.explorer.api import MAX_CODES
from vae_tf.explorer.api import Explorer
from vae_tf.explorer.api import RequestError
from vae_tf.explorer.backends import KerasBackend
from vae_tf.explorer.backends import SavedModelBackend
from vae_tf.explorer.loading import explorer_from_run
from vae_tf.explorer.loading import explorer_from_saved_model
from vae_tf.explorer.loading import load_explorer
from vae_tf.explorer.server import ExplorerServer
from vae_tf.explorer.server import make_server

__all__ = [
    "MAX_CODES",
    "Explorer",
    "ExplorerServer",
    "KerasBackend",
    "RequestError",
    "SavedModelBackend",
    "explorer_from_run",
    "explorer_from_saved_model",
    "load_explorer",
    "make_server",
]
