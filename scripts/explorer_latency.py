"""Measures the explorer's pointer-to-image time in headless Chromium.

    python scripts/explorer_latency.py --run_dir=runs/conv_latent2_20261122-231700
    python scripts/explorer_latency.py --saved_model=RUN/saved_model --moves=500

Serves the explorer on a free port of 127.0.0.1, opens it in Debian's
Chromium (through Playwright), moves the pointer over the map (2-D) or drags
a slider, and prints the times the page measured from each pointer event to
its new image; --screenshot also saves a picture of the page in use. Needs
`pip install playwright` and `apt-get install chromium`.
"""

import os
import sys

from absl import app
from absl import flags

# The browser driver is tooling beside the package (tools/ at the root), not in the wheel.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tools import browser  # noqa: E402
from vae_tf import cli  # noqa: E402
from vae_tf import explorer  # noqa: E402

flags.DEFINE_string("run_dir", None, "Run directory written by scripts/train.py.")
flags.DEFINE_string("saved_model", None, "Or a SavedModel directory (RUN/saved_model).")
flags.DEFINE_integer("moves", 300, "Pointer moves.", lower_bound=1)
flags.DEFINE_float(
    "pause_ms", 30.0, "Time between moves (30 ms: 33 events a second).", lower_bound=0.0
)
flags.DEFINE_string(
    "screenshot",
    None,
    "Also save a picture of the page in use (an interpolation between digits 0 and 1 on a 2-D "
    "map) at this path, e.g. docs/explorer.png.",
)

FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_logs()
    server = explorer.make_server(explorer.load_explorer(FLAGS.run_dir, FLAGS.saved_model))
    server.start()
    try:
        stats = browser.measure_pointer_latency(server.url, FLAGS.moves, FLAGS.pause_ms / 1000)
        if FLAGS.screenshot:
            print(f"wrote {browser.screenshot(server.url, FLAGS.screenshot)}")
    finally:
        server.shutdown()
        server.server_close()
    print(
        f"{stats['updates']} images for {stats['moves']} pointer moves: pointer to image "
        f"median {stats['median_ms']:.1f} ms, 90th percentile {stats['p90_ms']:.1f} ms, "
        f"slowest {stats['max_ms']:.1f} ms"
    )


if __name__ == "__main__":
    cli.run(main)
