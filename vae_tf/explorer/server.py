"""The explorer's HTTP server: the standard library's threaded server, the page and the API.

The pages ship inside the package (static/: index.html and explorer.js for
flat codes, codes.html and codes.js for a VQ-VAE's code grid, common.js and
explorer.css for both): no build step, no CDN, no network. `/` serves the
explorer's own page (`explorer.page`). Every request gets an answer: bad
input a 400 with a JSON `{"error": message}`, a failure of ours a 500 with
the same shape; neither stops the server.

Example:

```python
server = make_server(explorer, host="127.0.0.1", port=0)   # 0: a free port
print(server.url)                                            # http://127.0.0.1:PORT/
server.serve_forever()
```
"""

import http.server
import json
import os
import socket
import threading
import traceback
import urllib.parse

from absl import logging

from vae_tf.explorer.json_api import MethodNotAllowed
from vae_tf.explorer.json_api import RequestError

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
HTML = "text/html; charset=utf-8"
# The scripts and style of both pages; the HTML is the explorer's own page.
STATIC_FILES = {
    "/common.js": ("common.js", "text/javascript; charset=utf-8"),
    "/explorer.js": ("explorer.js", "text/javascript; charset=utf-8"),
    "/codes.js": ("codes.js", "text/javascript; charset=utf-8"),
    "/explorer.css": ("explorer.css", "text/css; charset=utf-8"),
}
MAX_BODY_BYTES = 1 << 20
# A body over the limit is still read (and dropped) up to this size, so the
# client gets the 400 instead of a connection reset.
MAX_DISCARDED_BYTES = 64 << 20


class _Handler(http.server.BaseHTTPRequestHandler):
    # Keep-alive connections: the page's stream of decode requests reuses one.
    protocol_version = "HTTP/1.1"
    server_version = "vae_tf-explorer"
    # Headers and body go out in two writes: with Nagle's algorithm, the
    # client's delayed ACK held every answer back by 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        logging.debug("explorer: " + format, *args)

    def _send(self, status, body, content_type, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status, payload, headers=()):
        body = json.dumps(payload, allow_nan=False).encode("utf-8")
        self._send(status, body, "application/json", headers)

    def _error(self, status, message, headers=()):
        self._json(status, {"error": message}, headers)

    def _body(self):
        length = self.headers.get("Content-Length")
        if length is None:
            raise RequestError("The request has no Content-Length: send a JSON body.")
        try:
            length = int(length)
        except ValueError:
            raise RequestError(f"Content-Length must be a number of bytes; got {length!r}.")
        if not 0 <= length <= MAX_BODY_BYTES:
            self._discard(length)
            raise RequestError(
                f"The request body has {length} bytes; at most {MAX_BODY_BYTES} are accepted."
            )
        raw = self.rfile.read(length)
        try:
            # parse_constant refuses NaN and Infinity, which Python's json
            # accepts but JSON does not.
            return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise RequestError(f"The request body is not valid JSON: {error}.")

    def _discard(self, length):
        """Reads a refused body away, so the client hears the answer before the close."""
        while 0 < length <= MAX_DISCARDED_BYTES:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                break
            length -= len(chunk)
        # Unread, a body would be taken for the next request on this connection.
        self.close_connection = True

    def _static_file(self, path):
        """`(file name, content type)` of a static path, or None."""
        page = self.server.explorer.page
        if path in ("/", "/" + page):
            return page, HTML
        return STATIC_FILES.get(path)

    def _handle(self, method):
        path = urllib.parse.urlsplit(self.path).path
        try:
            static = self._static_file(path) if method == "GET" else None
            if static:
                name, content_type = static
                with open(os.path.join(STATIC_DIR, name), "rb") as f:
                    return self._send(200, f.read(), content_type)
            request = self._body() if method == "POST" else None
            return self._json(200, self.server.explorer.route(method, path, request))
        except RequestError as error:
            return self._error(400, str(error))
        except MethodNotAllowed as error:
            return self._error(405, str(error), [("Allow", error.allowed)])
        except LookupError as error:
            return self._error(404, str(error) if path.startswith("/api/") else f"No page {path}.")
        except (BrokenPipeError, ConnectionResetError):
            return None  # the page went away mid-answer
        except Exception as error:  # a failure of ours: answer, log, keep serving
            logging.error("explorer: %s %s failed:\n%s", method, path, traceback.format_exc())
            return self._error(500, f"The explorer failed on this request: {error!r}.")

    def do_GET(self):
        self._handle("GET")

    def do_HEAD(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")


def _refuse_constant(name):
    raise RequestError(f"The request holds {name}: codes must be finite numbers.")


class ExplorerServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP server of one `Explorer`; `url` is its address."""

    daemon_threads = True

    def __init__(self, explorer, host="127.0.0.1", port=0):
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)
        self.explorer = explorer

    @property
    def url(self):
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def start(self):
        """Serves in a background thread (for tests and notebooks); returns the thread."""
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread


def make_server(explorer, host="127.0.0.1", port=0):
    """An `ExplorerServer` of `explorer` listening on `host:port` (port 0: a free one).

    Raises:
        OSError: the port is taken or the host is not an address of this machine.
    """
    try:
        return ExplorerServer(explorer, host, port)
    except OSError as error:
        raise OSError(
            f"Cannot listen on {host}:{port}: {error.strerror or error}. Choose another "
            "--port (0 picks a free one) or --host."
        ) from None
