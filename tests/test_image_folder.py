"""Folders of generated images: decoding, cropping, labels, bad files, training at 64x64 RGB."""

import os

import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO
from conftest import run_python
from PIL import Image

import vae_tf
from vae_tf.data import ImageFolder


def _save(path, array, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array, mode).save(path)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two classes of mixed sizes and formats, one corrupt file, one truncated one."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(6):
        # Reds: wider than tall, white centre square, black sides (cropped away).
        red = np.zeros((40, 80, 3), "uint8")
        red[:, 20:60] = (255, 40 * i // 6, 0)
        _save(root / "a_red" / f"red{i}.png", red)
        # Blues: JPEG, taller than wide, grayscale files among them.
        size = (70 + 2 * i, 50)
        blue = np.zeros((*size, 3), "uint8")
        blue[..., 2] = 200 + rng.integers(0, 50)
        if i % 3 == 0:
            _save(root / "b_blue" / f"grey{i}.jpg", blue[..., 2], "L")
        else:
            _save(root / "b_blue" / f"blue{i}.jpeg", blue)
    (root / "a_red" / "broken.png").write_bytes(b"this is not an image at all")
    good = (root / "a_red" / "red0.png").read_bytes()
    (root / "b_blue" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "b_blue" / "notes.txt").write_text("not listed")
    return root


def _count(dataset):
    return sum(len(batch[0] if isinstance(batch, tuple) else batch) for batch in dataset)


def test_folder_lists_images_with_class_labels_and_a_fixed_split(folder):
    images = ImageFolder(folder, image_size=32, validation_split=0.25)
    assert images.class_names == ["a_red", "b_blue"] and images.num_classes == 2
    assert images.image_shape == (32, 32, 3)
    train, validation = images.paths("train"), images.paths("validation")
    assert len(train) + len(validation) == 14 and len(validation) == 4  # txt not listed
    assert not set(train) & set(validation)
    again = ImageFolder(folder, image_size=32, validation_split=0.25)
    assert list(again.paths("validation")) == list(validation)


def test_images_are_cropped_to_the_centre_resized_and_labelled(folder):
    images = ImageFolder(folder, image_size=16, validation_split=0)
    batches = list(images.dataset(batch_size=64, labels=True).as_numpy_iterator())
    ((x, y),) = batches
    assert x.shape == (12, 16, 16, 3) and x.dtype == np.float32  # 2 bad files skipped
    assert x.min() >= 0 and x.max() <= 1
    reds, blues = x[y == 0], x[y == 1]
    assert len(reds) == len(blues) == 6
    # The red images' black sides were cropped away: red everywhere.
    np.testing.assert_allclose(reds[..., 0], 1.0, atol=0.02)
    assert blues[..., 2].min() > 0.7  # blue, or the grey files' light grey
    grey = ImageFolder(folder, image_size=16, channels=1, validation_split=0)
    assert next(iter(grey.dataset(batch_size=4))).shape == (4, 16, 16, 1)


def test_bad_files_are_skipped_or_stop_training_with_their_name(folder, capfd):
    skipping = ImageFolder(folder, image_size=8, validation_split=0)
    assert _count(skipping.dataset(batch_size=5)) == 12
    assert "broken.png" in capfd.readouterr().err
    strict = ImageFolder(folder, image_size=8, validation_split=0, bad_images="raise")
    with pytest.raises(tf.errors.InvalidArgumentError, match="Not a PNG, JPEG, GIF or BMP"):
        _count(strict.dataset(batch_size=20))


def test_shuffling_and_caches_keep_every_image_once(folder, tmp_path):
    for cache in (None, "memory", str(tmp_path / "cache")):
        images = ImageFolder(folder, image_size=8, validation_split=0, cache=cache)
        dataset = images.dataset(batch_size=3, shuffle=True, seed=1, labels=True)
        for _ in range(2):
            labels = np.concatenate([y for _, y in dataset.as_numpy_iterator()])
            assert sorted(labels) == [0] * 6 + [1] * 6


def test_folder_errors_say_what_is_wrong(folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        ImageFolder(tmp_path / "missing")
    with pytest.raises(ValueError, match="No images in"):
        ImageFolder(tmp_path)
    flat = tmp_path / "flat"
    _save(flat / "one.png", np.zeros((8, 8, 3), "uint8"))
    unlabelled = ImageFolder(flat, validation_split=0)
    assert unlabelled.class_names is None
    with pytest.raises(ValueError, match="carry no labels: put each class in its own sub-folder"):
        unlabelled.dataset(labels=True)
    with pytest.raises(ValueError, match="channels must be 1"):
        ImageFolder(folder, channels=4)
    with pytest.raises(ValueError, match="leaves no training image"):
        ImageFolder(flat, validation_split=0.5)


def test_a_folder_trains_the_conv64_vae_at_64x64_rgb(folder):
    images = ImageFolder(folder, image_size=64, validation_split=0.25)
    encoder, decoder = vae_tf.build_encoder_decoder("conv64", 8, image_shape=images.image_shape)
    vae = vae_tf.VAE(encoder, decoder, seed=0)
    vae.compile(optimizer="adam")
    history = vae.fit(
        images.dataset("train", batch_size=4, shuffle=True, seed=0),
        validation_data=images.dataset("validation", batch_size=4),
        epochs=2,
        verbose=0,
    ).history
    assert np.isfinite(history["total_loss"]).all() and np.isfinite(history["val_total_loss"]).all()
    sample, labels = images.load("validation", count=3)
    assert sample.shape == (3, 64, 64, 3) and labels.shape == (3,)
    assert vae.reconstruct(sample).shape == (3, 64, 64, 3)


TRAIN = os.path.join(REPO, "scripts", "train.py")


@pytest.mark.slow
def test_train_script_on_a_folder_writes_the_run_figures_and_export(folder, tmp_path):
    run_dir = tmp_path / "run"
    result = run_python(
        [
            TRAIN,
            f"--data_dir={folder}",
            "--architecture=conv64",
            "--latent_dim=8",
            "--epochs=2",
            "--batch_size=4",
            "--validation_split=0.25",
            "--conditional",
            f"--output_dir={run_dir}",
        ]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Your input ran out of data" not in result.stderr  # a folder's unknown length
    assert "broken.png" in result.stderr  # the skipped file, named
    for name in (
        "vae.keras",
        "loss.png",
        "latent_scatter.png",
        "reconstructions.png",
        "samples.png",
        "style_grid.png",
        "analogies.png",
        "latent_traversal.png",
    ):
        assert (run_dir / name).is_file(), name
    config = vae_tf.runs.read_config(run_dir)
    assert config.data_dir == str(folder) and config.image_size == 64
    run = vae_tf.runs.load_run(run_dir)
    assert run.model.image_shape == (64, 64, 3) and run.model.num_classes == 2
    assert run.model.likelihood == "gaussian_learned"  # "auto" for natural images
    exported = tf.saved_model.load(str(run_dir / "saved_model"))
    images = exported.decode(tf.zeros((2, 8)), tf.constant([0, 1]))
    assert tuple(images.shape) == (2, 64, 64, 3)
    evaluation = run_python(
        ["scripts/evaluate.py", f"--run_dir={run_dir}", "--k=2", "--num_examples=3"]
    )
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    assert "negative ELBO" in evaluation.stdout
    redrawn = run_python(
        ["scripts/visualize.py", f"--run_dir={run_dir}", f"--out_dir={tmp_path / 'figures'}"]
    )
    assert redrawn.returncode == 0, redrawn.stderr[-3000:]
    assert (tmp_path / "figures" / "reconstructions.png").is_file()


@pytest.mark.slow
def test_train_script_reports_an_unreachable_dataset_in_one_line(tmp_path):
    # No network here (or a blocked one): KERAS_HOME points at an empty cache.
    result = run_python(
        [TRAIN, "--dataset=fashion_mnist", f"--output_dir={tmp_path / 'run'}"],
        env={
            "KERAS_HOME": str(tmp_path / "keras"),
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "HTTP_PROXY": "http://127.0.0.1:9",
        },
    )
    assert result.returncode == 2
    assert "train.py: error: Cannot load fashion_mnist through keras.datasets" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.partial").exists()


def test_cifar10_trains_end_to_end_where_keras_can_load_it(monkeypatch, tmp_path):
    import keras

    rng = np.random.default_rng(0)
    fake = (
        (rng.integers(0, 256, (64, 32, 32, 3), dtype="uint8"), rng.integers(0, 10, (64, 1))),
        (rng.integers(0, 256, (16, 32, 32, 3), dtype="uint8"), rng.integers(0, 10, (16, 1))),
    )
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: fake)
    config = vae_tf.TrainConfig(
        dataset="cifar10",
        latent_dim=4,
        epochs=1,
        batch_size=16,
        conditional=True,
        output_dir=str(tmp_path / "run"),
    )
    result = vae_tf.train(config, verbose=0)
    assert result.model.image_shape == (32, 32, 3) and result.model.num_classes == 10
    assert result.model.likelihood == "gaussian_learned"
    assert np.isfinite(result.history["val_total_loss"]).all()
    assert (tmp_path / "run" / "samples.png").is_file()
