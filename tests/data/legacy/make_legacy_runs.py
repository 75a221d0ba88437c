"""Writes the legacy run directories of tests/test_legacy_runs.py with vae_tf as of c25fd95.

These are files written BEFORE the restructuring into vae_tf.models, vae_tf.runs,
... (issue 15); the tests check that today's code still loads and resumes them.
They were made with that commit's code, on 8x8 digits so that the files stay small:

    git worktree add /tmp/vae_tf_c25fd95 c25fd95
    PYTHONPATH=/tmp/vae_tf_c25fd95 python tests/data/legacy/make_legacy_runs.py /tmp/legacy
    # then copy /tmp/legacy/{vae_run,cvae_run,ae_run,tiny.npz,expected.npz} here, and
    # /tmp/legacy/interrupted.partial as interrupted_partial (without its .lock)

It uses the API of that commit (vae_tf.training, its EpochTimer global).
"""

import os
import shutil
import sys

import keras
import numpy as np

import vae_tf
from vae_tf import data
from vae_tf import training
from vae_tf.training import TrainConfig
from vae_tf.training import train

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
os.chdir(out)
(x_train, y_train), (x_test, y_test) = data.load_mnist()


def shrink(x):
    """8x8 digits: every third pixel of the centre 24x24."""
    return x[:, 2:26:3, 2:26:3, :]


np.savez(
    "tiny.npz",
    x_train=(shrink(x_train[:96]) * 255).astype("uint8"),
    y_train=y_train[:96],
    x_test=(shrink(x_test[:32]) * 255).astype("uint8"),
    y_test=y_test[:32],
)
base = dict(
    dataset="tiny.npz",
    latent_dim=2,
    batch_size=16,
    steps_per_execution=1,
    seed=3,
    deterministic=True,
)


def keep(run_dir, names=("config.json", "history.csv", "vae.keras")):
    """Keeps what loading and resuming read (the figures and SavedModel are large)."""
    for name in os.listdir(run_dir):
        if name not in names:
            path = os.path.join(run_dir, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


vae = train(TrainConfig(**base, epochs=2, output_dir="vae_run"), verbose=0)
keep("vae_run")
# The same run trained for 3 epochs in one go: what a resume to 3 epochs must give.
train(TrainConfig(**base, epochs=3, output_dir="vae_run_3"), verbose=0)


class Crash(keras.callbacks.Callback):
    """Stops as step 11 begins; the latest checkpoint is step 10 (epoch 2, batch 4)."""

    def on_train_batch_begin(self, batch, logs=None):
        if int(self.model.optimizer.iterations) == 10:
            raise KeyboardInterrupt


original = training.EpochTimer
training.EpochTimer = Crash  # that commit's train() had no callbacks argument
try:
    train(TrainConfig(**base, epochs=3, checkpoint_steps=4, output_dir="interrupted"), verbose=0)
except KeyboardInterrupt:
    pass
training.EpochTimer = original

cvae = train(TrainConfig(**base, epochs=1, conditional=True, output_dir="cvae_run"), verbose=0)
keep("cvae_run")
ae = train(TrainConfig(**base, epochs=1, autoencoder=True, output_dir="ae_run"), verbose=0)
keep("ae_run")

# What that code computes, for the loading tests.
images = data.load_npz("tiny.npz")[1][0][:4]
labels = np.array([0, 1, 2, 3])
z = np.array([[0.0, 0.0], [1.0, -1.0], [-0.5, 2.0], [0.3, 0.3]], "float32")
expected = {}
for name in ("vae", "cvae", "ae"):
    model = keras.saving.load_model(os.path.join(f"{name}_run", "vae.keras"))
    model_labels = labels if model.conditional else None
    expected[f"{name}_decode"] = np.asarray(model.decode(z, model_labels))
    expected[f"{name}_z_mean"] = np.asarray(model.encode(images, model_labels)[0])
    expected[f"{name}_reconstruct"] = np.asarray(model.reconstruct(images, model_labels))
    if model.variational:
        _, kl = model.per_example_losses(keras.ops.convert_to_tensor(images), model_labels)
        expected[f"{name}_kl"] = np.asarray(kl)
        expected[f"{name}_nll"] = vae_tf.evaluation.evaluate_likelihood(
            model, images, model_labels, num_samples=8, per_example=True
        )["per_example_nll"]
whole = keras.saving.load_model("vae_run_3/vae.keras")
for i, weight in enumerate(whole.weights):
    expected[f"vae_3_weight_{i}"] = weight.numpy()
np.savez("expected.npz", images=images, labels=labels, z=z, **expected)
shutil.rmtree("vae_run_3")
