"""Writes the 0.1.0 run directories of tests/test_legacy_runs.py with vae_tf as of 363a26a.

Version 0.1.0 is the last commit before the model family of 0.2.0 (posteriors,
named loss terms, the registry); the tests check that today's code still
loads, draws, evaluates and resumes the runs it wrote, and that their
SavedModels serve. They were made with that commit's code, on the 8x8 digits
of tests/data/legacy/tiny.npz (copied here; config.json names it relatively),
with the mlp preset (conv for the conditional run) so that the files stay
small:

    git worktree add /tmp/vae_tf_010 363a26a
    PYTHONPATH=/tmp/vae_tf_010 python tests/data/legacy_0_1_0/make_runs.py /tmp/legacy_0_1_0
    # then copy /tmp/legacy_0_1_0/{*_run,tiny.npz,expected.npz} here

Each run keeps config.json, history.csv, vae.keras and saved_model/ (the
figures, diagrams, TensorBoard logs and the SavedModel's empty assets/ are
left out). expected.npz holds
what that code computed from them: for fixed images, codes and labels, the
model's decode, encode (z_mean) and reconstruct, the per-example KL and
importance-weighted NLL (K=8), `evaluation.evaluate_run` as JSON, the
SavedModel's endpoints as served (`tf.saved_model.load`), and the weights of
the same runs trained for 3 epochs in one go (what a resume must give).
"""

import json
import os
import shutil
import sys

import keras
import numpy as np
import tensorflow as tf

import vae_tf
from vae_tf import data
from vae_tf import evaluation
from vae_tf.runs import TrainConfig
from vae_tf.runs import train

assert vae_tf.__version__ == "0.1.0", f"run this with vae_tf 0.1.0, not {vae_tf.__version__}"
HERE = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
shutil.copy(os.path.join(HERE, "..", "legacy", "tiny.npz"), out)
os.chdir(out)

base = dict(
    dataset="tiny.npz",
    architecture="mlp",
    latent_dim=2,
    batch_size=16,
    epochs=2,
    steps_per_execution=1,
    seed=3,
    deterministic=True,
)
RUNS = {
    "vae": {},
    # The conv preset (the default): the mlp one sees the labels as 10 more
    # channels of the image, 4 times the weights.
    "cvae": dict(conditional=True, architecture="conv"),
    "ae": dict(autoencoder=True),
    "iwae_vamp": dict(objective="iwae", num_samples=2, prior="vamp", prior_components=4),
    "hvae": dict(stochastic_layers=2),
}
# The runs whose 3-epoch weights are recorded (a finished run resumed to 3 epochs).
RESUMED = ("vae", "iwae_vamp", "hvae")
KEPT = ("config.json", "history.csv", "vae.keras", "saved_model")


def keep(run_dir):
    """Keeps what loading, resuming and serving read (the figures and logs are large)."""
    for name in os.listdir(run_dir):
        if name not in KEPT:
            path = os.path.join(run_dir, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    # Git keeps no empty folder: the tests see the SavedModel without it.
    os.rmdir(os.path.join(run_dir, "saved_model", "assets"))


for name, settings in RUNS.items():
    train(TrainConfig(**{**base, **settings}, output_dir=f"{name}_run"), verbose=0)
    keep(f"{name}_run")

images = data.load_npz("tiny.npz")[1][0][:4]
labels = np.array([0, 1, 2, 3], "int32")
z = np.array([[0.0, 0.0], [1.0, -1.0], [-0.5, 2.0], [0.3, 0.3]], "float32")
expected = {}
for name in RUNS:
    run_dir = f"{name}_run"
    model = keras.saving.load_model(os.path.join(run_dir, "vae.keras"))
    model_labels = labels if model.conditional else None
    expected[f"{name}_decode"] = np.asarray(model.decode(z, model_labels))
    expected[f"{name}_z_mean"] = np.asarray(model.encode(images, model_labels)[0])
    expected[f"{name}_reconstruct"] = np.asarray(model.reconstruct(images, model_labels))
    variational = not isinstance(model, vae_tf.Autoencoder)
    if variational:
        # The KL of a prior without a closed form (the VampPrior, two layers) is
        # a Monte Carlo estimate from the Sampler's generator, as loaded.
        _, kl = model.per_example_losses(keras.ops.convert_to_tensor(images), model_labels)
        expected[f"{name}_kl"] = np.asarray(kl)
        likelihood = evaluation.evaluate_likelihood(
            model, images, model_labels, num_samples=8, seed=0, per_example=True
        )
        expected[f"{name}_nll"] = likelihood["per_example_nll"]
        expected[f"{name}_elbo"] = likelihood["per_example_elbo"]
        result = evaluation.evaluate_run(run_dir, num_samples=4, num_examples=16, seed=5)
        result = {k: v for k, v in result.items() if k not in ("run_dir", "seconds")}
        expected[f"{name}_evaluation"] = np.array(json.dumps(result, sort_keys=True))

    # The SavedModel as a consumer serves it (the graph alone, no vae_tf code).
    served = tf.saved_model.load(os.path.join(run_dir, "saved_model"))
    z_t, images_t = tf.constant(z), tf.constant(images)
    extra = (tf.constant(labels),) if model.conditional else ()
    expected[f"{name}_served_decode"] = served.decode(z_t, *extra).numpy()
    expected[f"{name}_served_serving_default"] = served.signatures["serving_default"](
        z=z_t, **({"label": extra[0]} if extra else {})
    )["output_0"].numpy()
    for key, value in served.encode(images_t, *extra).items():
        expected[f"{name}_served_encode_{key}"] = value.numpy()
    expected[f"{name}_served_reconstruct"] = served.reconstruct(images_t, *extra).numpy()
    first = extra[0] if extra else tf.constant(5)  # a conditional model: one image per label
    expected[f"{name}_served_sample"] = served.sample(first, tf.constant(7)).numpy()
    expected[f"{name}_served_sample_codes"] = served.sample_codes(
        tf.constant(5), tf.constant(7)
    ).numpy()

# The same runs trained for 3 epochs in one go: what a resume to 3 epochs must give.
for name in RESUMED:
    settings = {**base, **RUNS[name], "epochs": 3}
    whole = train(TrainConfig(**settings, output_dir="whole"), verbose=0)
    for i, weight in enumerate(whole.model.weights):
        expected[f"{name}_3_weight_{i}"] = weight.numpy()
    shutil.rmtree("whole")

np.savez(
    "expected.npz",
    images=images,
    labels=labels,
    z=z,
    versions=np.array(json.dumps({"vae_tf": vae_tf.__version__, "tensorflow": tf.__version__})),
    **expected,
)
