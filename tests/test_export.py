import numpy as np
import pytest
from conftest import run_python

import vae_tf
from vae_tf import export_saved_model

CONSUMER = """
import sys
sys.modules["vae_tf"] = None  # prove that the SavedModel alone is enough
import numpy as np
import tensorflow as tf
try:
    import vae_tf
except ImportError:
    pass
else:
    raise SystemExit("vae_tf was importable")
directory, inputs, outputs = sys.argv[1:]
arrays = np.load(inputs)
loaded = tf.saved_model.load(directory)
encoded = loaded.encode(tf.constant(arrays["images"]))
serving = loaded.signatures["serving_default"](z=tf.constant(arrays["z"]))
np.savez(
    outputs,
    decode=loaded.decode(tf.constant(arrays["z"])).numpy(),
    serving=serving["output_0"].numpy(),
    z_mean=encoded["z_mean"].numpy(),
    reconstruct=loaded.reconstruct(tf.constant(arrays["images"])).numpy(),
    sample_a=loaded.sample(tf.constant(5), tf.constant(7)).numpy(),
    sample_b=loaded.sample(tf.constant(5), tf.constant(7)).numpy(),
    sample_c=loaded.sample(tf.constant(5), tf.constant(8)).numpy(),
)
"""


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["normal", "vamp"])
def test_saved_model_serves_without_vae_tf(tmp_path, conv_vae, mnist_small, variant):
    (x, _), _ = mnist_small
    if variant == "vamp":
        # The sample endpoint draws from the VampPrior: the encoder's
        # posteriors at the pseudo-inputs, all inside the graph.
        conv_vae = vae_tf.VAE(
            *vae_tf.build_encoder_decoder("conv", 2),
            seed=3,
            prior="vamp",
            prior_components=20,
            objective="iwae",
            num_samples=2,
        )
    conv_vae.compile(optimizer="adam")
    conv_vae.fit(x[:256], epochs=1, batch_size=128, verbose=0)
    directory = export_saved_model(conv_vae, tmp_path / "saved_model")
    z = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    np.savez(tmp_path / "inputs.npz", z=z, images=x[:8])
    script = tmp_path / "consumer.py"
    script.write_text(CONSUMER)
    result = run_python(
        [str(script), directory, str(tmp_path / "inputs.npz"), str(tmp_path / "out.npz")],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(out["decode"], conv_vae.decode(z), atol=1e-6)
    np.testing.assert_array_equal(out["serving"], out["decode"])
    np.testing.assert_allclose(out["z_mean"], conv_vae.encode(x[:8])[0], atol=1e-5)
    np.testing.assert_allclose(out["reconstruct"], conv_vae.reconstruct(x[:8]), atol=1e-5)
    assert out["sample_a"].shape == (5, 28, 28, 1)
    np.testing.assert_array_equal(out["sample_a"], out["sample_b"])
    assert not np.array_equal(out["sample_a"], out["sample_c"])
    np.testing.assert_allclose(out["sample_a"], conv_vae.sample(5, seed=7), atol=1e-5)


def test_export_refuses_to_overwrite(tmp_path, conv_vae):
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError, match="already exists"):
        export_saved_model(conv_vae, tmp_path / "taken")
    assert not [p for p in tmp_path.iterdir() if p.name != "taken"]  # no leftovers
