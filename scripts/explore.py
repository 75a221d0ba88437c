"""Explores a trained model's latent space live in the browser.

    python scripts/explore.py --preset=mnist_conv_latent2 --open      # nothing trained
    python scripts/explore.py --run_dir=runs/conv_latent2_20261122-231700
    python scripts/explore.py --saved_model=RUN/saved_model --port=0 --open
    python scripts/explore.py --saved_model=exported --images=my_test.npz

Serves a page on 127.0.0.1 (the URL is printed; --port=0 picks a free
port): for a 2-D latent space, the map of the encoded test images, with the
image decoded at the pointer following it; for larger ones, sliders for the
most used dimensions; test images and prior samples to start from, the
interpolation between the last two points chosen, and a class selector for
conditional models. A VQ-VAE (--model=vq_vae) gets its code grid instead:
a test image's map of codebook indices as cells, each of which can take
another code (the image is decoded again at once), and maps sampled from its
PixelCNN prior. With --saved_model the model runs through the SavedModel's
endpoints alone. Ctrl-C stops it.
"""

import webbrowser

from absl import app
from absl import flags

from vae_tf import cli
from vae_tf import explorer

flags.DEFINE_string("run_dir", None, "Run directory written by scripts/train.py.")
cli.define_preset_flag()
flags.DEFINE_string(
    "saved_model", None, "Or a SavedModel directory (RUN/saved_model), used through its endpoints."
)
flags.DEFINE_string(
    "images",
    None,
    "With --saved_model: an .npz of images (x_test, y_test; as --dataset=FILE.npz takes) to "
    "encode for the map and the strip. Default: the test images of the run holding it.",
)
flags.DEFINE_integer("num_images", 2000, "How many test images to encode.", lower_bound=1)
flags.DEFINE_string("host", "127.0.0.1", "Address to listen on; 0.0.0.0 opens it to the network.")
flags.DEFINE_integer(
    "port", 8765, "Port to listen on; 0 picks a free one.", lower_bound=0, upper_bound=65535
)
flags.DEFINE_bool("open", False, "Open the page in the default browser.")

FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_logs()
    run_dir = FLAGS.run_dir if FLAGS.preset is None else cli.run_dir_or_preset()
    state = explorer.load_explorer(run_dir, FLAGS.saved_model, FLAGS.images, FLAGS.num_images)
    server = explorer.make_server(state, FLAGS.host, FLAGS.port)
    print(f"Exploring {state.name} at {server.url} (Ctrl-C to stop)", flush=True)
    if FLAGS.open:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.")
    finally:
        server.server_close()


if __name__ == "__main__":
    cli.run(main)
