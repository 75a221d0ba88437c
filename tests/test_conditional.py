import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_close
from conftest import run_python

import vae_tf
from vae_tf import plotting
from vae_tf.metrics import conditional_accuracy


def conditional_vae(preset="conv", latent_dim=2, seed=0):
    networks = vae_tf.build_encoder_decoder(preset, latent_dim, num_classes=10)
    return vae_tf.VAE(*networks, seed=seed, num_classes=10)


@pytest.fixture(scope="module")
def trained():
    """A conditional VAE trained for a few epochs on 8,192 digits."""
    (x, y), _ = vae_tf.data.load_mnist()
    keras.utils.set_random_seed(0)
    model = conditional_vae()
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    dataset = vae_tf.data.make_dataset(x[:8192], y[:8192], batch_size=128, shuffle=True, seed=0)
    model.fit(dataset, epochs=4, shuffle=False, verbose=0)
    return model


def test_builders_give_the_label_to_both_networks():
    encoder, decoder = vae_tf.build_encoder_decoder("conv", 2, num_classes=10)
    assert [tuple(t.shape[1:]) for t in encoder.inputs] == [(28, 28, 1), (10,)]
    assert [tuple(t.shape[1:]) for t in decoder.inputs] == [(2,), (10,)]
    # The first convolution sees 1 image channel + 10 constant label maps.
    first_conv = next(layer for layer in encoder.layers if isinstance(layer, keras.layers.Conv2D))
    assert first_conv.count_params() == 3 * 3 * 11 * 32 + 32
    maps = keras.Model(encoder.inputs, encoder.get_layer("label_maps").output)
    one_hot = np.eye(10, dtype="float32")[[3]]
    label_maps = maps([np.zeros((1, 28, 28, 1)), one_hot])
    np.testing.assert_array_equal(label_maps[0, 5, 7], one_hot[0])
    np.testing.assert_array_equal(label_maps[0, 0, 0], label_maps[0, 27, 27])
    for preset in vae_tf.PRESETS:
        e, d = vae_tf.build_encoder_decoder(preset, 3, num_classes=4)
        shape = tuple(e.inputs[0].shape[1:])  # the preset's own
        one_hot = tf.constant(np.eye(4, dtype="float32")[[0, 1]])
        z_mean, _ = e([tf.zeros((2, *shape)), one_hot])
        assert tuple(d([z_mean, one_hot]).shape) == (2, *shape)


def test_changing_only_the_label_changes_the_image(trained):
    z = np.random.default_rng(1).standard_normal((20, 2)).astype("float32")
    ones, sevens = trained.decode(z, labels=1), trained.decode(z, labels=7)
    difference = np.abs(np.asarray(ones) - np.asarray(sevens)).mean(axis=(1, 2, 3))
    assert np.all(difference > 0.02)
    np.testing.assert_array_equal(trained.decode(z, labels=7), sevens)  # deterministic


def test_same_z_keeps_its_stroke_across_labels(trained):
    # Ink (summed intensity) measures stroke width; normalise it per digit
    # so that digits with more strokes do not count as thicker.
    z = np.random.default_rng(2).standard_normal((40, 2)).astype("float32") * 1.5
    images = np.stack([np.asarray(trained.decode(z, labels=d)) for d in range(10)], axis=1)
    ink = images.sum(axis=(2, 3, 4))  # (z, label)
    ink = ink / ink.mean(axis=0, keepdims=True)
    spread_across_labels = ink.std(axis=1).mean()  # same z, different labels
    spread_across_z = ink.std(axis=0).mean()  # same label, different z
    assert spread_across_labels < spread_across_z


def test_conditional_round_trips_keras_and_saved_model(tmp_path, trained):
    trained.save(tmp_path / "cvae.keras")
    loaded = keras.saving.load_model(tmp_path / "cvae.keras", safe_mode=True)
    assert loaded.num_classes == 10 and loaded.conditional
    z = np.random.default_rng(3).standard_normal((6, 2)).astype("float32")
    labels = np.arange(6)
    np.testing.assert_array_equal(loaded.decode(z, labels), trained.decode(z, labels))
    vae_tf.export_saved_model(trained, tmp_path / "saved_model")
    served = tf.saved_model.load(str(tmp_path / "saved_model"))
    assert set(served.signatures["decode"].structured_input_signature[1]) == {"z", "label"}
    np.testing.assert_allclose(
        served.decode(z, labels.astype("int32")), trained.decode(z, labels), atol=1e-6
    )
    samples = served.sample(tf.constant([7, 7, 1], tf.int32), tf.constant(0))
    assert samples.shape == (3, 28, 28, 1)
    (x, y), _ = vae_tf.data.load_mnist()
    codes = served.encode(x[:4], y[:4])
    np.testing.assert_allclose(codes["z_mean"], trained.encode(x[:4], y[:4])[0], atol=1e-5)


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.arange(10) + 1, r"must lie in \[0, 9\]"),
        (np.full(10, 2.5), "integer class indices"),
        (np.eye(10), r"shape \(N,\)"),
        (np.arange(9), "10 images but 9 labels"),
        (np.array(["a"] * 10), "integer class indices"),
    ],
)
def test_bad_labels_get_clear_errors(labels, message):
    model = conditional_vae("mlp")
    model.compile(optimizer="adam")
    images = np.zeros((10, 28, 28, 1), "float32")
    with pytest.raises(ValueError, match=message):
        model.fit(images, labels, verbose=0)
    with pytest.raises(ValueError, match=message):
        model.encode(images, labels)


def test_labels_are_required_exactly_when_conditional():
    images = np.zeros((4, 28, 28, 1), "float32")
    model = conditional_vae("mlp")
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="needs labels"):
        model.fit(images, verbose=0)
    with pytest.raises(ValueError, match="needs labels"):
        model.decode(np.zeros((4, 2)))
    plain = vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", 2))
    with pytest.raises(ValueError, match="not conditional"):
        plain.decode(np.zeros((4, 2)), labels=3)
    with pytest.raises(ValueError, match="Build both networks with the same num_classes"):
        vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", 2), num_classes=10)


def test_one_training_step_serves_both_kinds(trained):
    assert type(trained).train_step is vae_tf.VAE.train_step
    (x, y), _ = vae_tf.data.load_mnist()
    results = trained.evaluate(x[:512], y[:512], verbose=0, return_dict=True)
    assert set(results) == {"loss", "total_loss", "reconstruction_loss", "kl_loss"}
    assert results["total_loss"] < 250


def test_conditional_accuracy_bookkeeping(trained):
    class AlwaysThree:
        def predict(self, images, verbose=0):
            return np.tile(np.eye(10)[3], (len(images), 1))

    accuracy, per_label = conditional_accuracy(trained, AlwaysThree(), per_label=20)
    assert accuracy == pytest.approx(0.1)
    np.testing.assert_array_equal(per_label, np.eye(10)[3])
    with pytest.raises(ValueError, match="conditional"):
        conditional_accuracy(vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", 2)), AlwaysThree())


def test_conditional_figures(tmp_path, trained):
    (x, y), _ = vae_tf.data.load_mnist()
    paths = plotting.write_figures(trained, tmp_path, x[:200], y[:200], grid_labels=[3, 8])
    names = sorted(os.path.basename(p) for p in paths)
    assert names == sorted(
        [
            "latent_grid_label3.png",
            "latent_grid_label8.png",
            "latent_scatter.png",
            "reconstructions.png",
            "samples.png",
            "latent_traversal.png",
            "style_grid.png",
            "analogies.png",
            "class_interpolation.png",
        ]
    )
    style = plotting.style_grid_figure(trained, rows=4)
    assert style.axes[0].get_images()[0].get_array().shape == (4 * 28, 10 * 28)
    analogies = plotting.analogies_figure(trained, x[:3], y[:3])
    canvas = analogies.axes[0].get_images()[0].get_array()
    assert canvas.shape == (3 * 28, 11 * 28)
    np.testing.assert_array_equal(canvas[:28, :28], x[0, ..., 0])  # the real image first
    samples = plotting.samples_figure(trained, cols=5)
    assert samples.axes[0].get_images()[0].get_array().shape == (10 * 28, 5 * 28)
    with pytest.raises(ValueError, match="unconditional"):
        plotting.write_figures(trained, tmp_path, x[:10], y[:10], figures=["interpolation"])
    with pytest.raises(ValueError, match="need the labels"):
        plotting.write_figures(trained, tmp_path, x[:10])


def test_class_interpolation_holds_the_style_or_moves_the_code(trained):
    (x, y), _ = vae_tf.data.load_mnist()
    figure = plotting.class_interpolation_figure(trained, x[:100], y[:100], pairs=2, steps=6)
    strips = [ax.get_images()[0].get_array() for ax in figure.axes]
    assert len(strips) == 4 and all(strip.shape == (28, 8 * 28) for strip in strips)
    tiles = [np.split(np.asarray(strip), 8, axis=1) for strip in strips]
    # The pairs the figure chose (its seed), read back from the real images it shows.
    rows = [
        int(np.flatnonzero((x[:100, ..., 0] == tiles[r][0]).all(axis=(1, 2)))[0]) for r in (0, 2)
    ]
    ends = [
        int(np.flatnonzero((x[:100, ..., 0] == tiles[r][-1]).all(axis=(1, 2)))[0]) for r in (1, 3)
    ]
    for pair, (start, end) in enumerate(zip(rows, ends)):
        assert y[start] != y[end]
        held, moving = tiles[2 * pair], tiles[2 * pair + 1]
        z_start = vae_tf.latent.encode_means(trained, x[start : start + 1], y[start : start + 1])
        z_end = vae_tf.latent.encode_means(trained, x[end : end + 1], y[end : end + 1])
        # Style held: the first code under label a, then under label b (the ends of the path).
        assert_close(held[1], trained.decode(z_start, [y[start]])[0, ..., 0], atol=1e-5)
        assert_close(held[6], trained.decode(z_start, [y[end]])[0, ..., 0], atol=1e-5)
        # Halfway in between: the mixed label vector 0.4 e_a + 0.6 e_b (t = 3/5).
        mixed = np.eye(10, dtype="float32")[[y[start]]] * 0.4 + np.eye(10)[[y[end]]] * 0.6
        assert_close(
            held[4],
            plotting.conditional.decode_mixed(trained, z_start, mixed)[0, ..., 0],
            atol=1e-5,
        )
        # Codes and label: from the first image's code under a to the second's under b.
        assert_close(moving[1], trained.decode(z_start, [y[start]])[0, ..., 0], atol=1e-5)
        assert_close(moving[6], trained.decode(z_end, [y[end]])[0, ..., 0], atol=1e-5)
    with pytest.raises(ValueError, match="two classes"):
        plotting.class_interpolation_figure(trained, x[:5], np.full(5, 3))
    with pytest.raises(ValueError, match="conditional"):
        plotting.class_interpolation_figure(
            vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", 2)), x[:5], y[:5]
        )


@pytest.mark.slow
def test_train_conditional_run_and_generate_by_label(tmp_path):
    config = vae_tf.TrainConfig(
        architecture="mlp",
        latent_dim=2,
        conditional=True,
        epochs=1,
        steps_per_epoch=4,
        output_dir=str(tmp_path / "run"),
    )
    result = vae_tf.train(config, verbose=0)
    files = set(os.listdir(result.run_dir))
    assert {
        "style_grid.png",
        "analogies.png",
        "samples.png",
        "latent_grid_label0.png",
        "latent_grid_label9.png",
        "vae.keras",
        "saved_model",
    } <= files
    assert "interpolation.png" not in files
    saved_model = os.path.join(result.run_dir, "saved_model")
    out = tmp_path / "sevens.png"
    generated = run_python(
        [
            "-c",
            "import runpy, sys; sys.modules['vae_tf'] = None; "
            "sys.argv = ['generate.py'] + sys.argv[1:]; "
            "runpy.run_path('scripts/generate.py', run_name='__main__')",
            f"--saved_model={saved_model}",
            "--label=7",
            "--num=8",
            f"--out={out}",
        ]
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    assert out.read_bytes()[:4] == b"\x89PNG" and "8 images" in generated.stdout
    missing = run_python(["scripts/generate.py", f"--saved_model={saved_model}"])
    assert missing.returncode == 2 and "--label=DIGIT" in missing.stderr
