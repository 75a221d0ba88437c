import numpy as np
import pytest

from vae_tf import data


def test_bundled_mnist_loads_offline_as_floats_in_unit_range():
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (60_000, 28, 28, 1) and x_test.shape == (10_000, 28, 28, 1)
    assert x_train.dtype == x_test.dtype == np.float32
    assert y_train.shape == (60_000,) and y_test.shape == (10_000,)
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert set(np.unique(y_test)) == set(range(10))
    raw = np.load(data.MNIST_PATH)
    np.testing.assert_array_equal(x_test[..., 0] * 255.0, raw["x_test"].astype("float32"))


def test_missing_mnist_file_names_the_path_and_the_fix(tmp_path):
    path = tmp_path / "nowhere.npz"
    with pytest.raises(FileNotFoundError, match="nowhere.npz.*reinstall"):
        data.load_mnist(path)


def test_unreadable_or_foreign_npz_is_refused(tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="Cannot read"):
        data.load_mnist(broken)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, images=np.zeros(3))
    with pytest.raises(ValueError, match="lacks.*x_train"):
        data.load_mnist(foreign)


def test_check_images_accepts_valid_and_names_the_first_bad_image():
    images = np.random.default_rng(0).uniform(size=(5, 4, 4, 1)).astype("float32")
    assert data.check_images(images) is images
    images[3, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="1 image.*index 3"):
        data.check_images(images)


def small_images(n=10):
    return np.random.default_rng(0).uniform(size=(n, 4, 4, 1)).astype("float32")


def epoch(dataset):
    return [
        batch.numpy() if not isinstance(batch, tuple) else tuple(b.numpy() for b in batch)
        for batch in dataset
    ]


def test_dataset_batches_and_reshuffles_every_epoch_reproducibly():
    images = small_images(10)
    dataset = data.make_dataset(images, batch_size=4, shuffle=True, seed=1)
    first, second = epoch(dataset), epoch(dataset)
    assert [len(b) for b in first] == [4, 4, 2]
    assert not np.array_equal(np.concatenate(first), np.concatenate(second))
    np.testing.assert_array_equal(  # a permutation of the images
        np.sort(np.concatenate(first).ravel()), np.sort(images.ravel())
    )
    again = data.make_dataset(images, batch_size=4, shuffle=True, seed=1)
    np.testing.assert_array_equal(np.concatenate(epoch(again)), np.concatenate(first))


def test_unshuffled_dataset_keeps_order_and_labels():
    images, labels = small_images(6), np.arange(6)
    batches = epoch(data.make_dataset(images, labels, batch_size=4))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), images)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), labels)
    with pytest.raises(ValueError, match="one per image"):
        data.make_dataset(images, np.arange(5))


def test_dynamic_binarization_draws_bernoulli_pixels_anew_each_epoch():
    images = np.full((2000, 4, 4, 1), 0.3, "float32")
    dataset = data.make_dataset(images, batch_size=500, shuffle=True, binarize=True, seed=0)
    first, second = np.concatenate(epoch(dataset)), np.concatenate(epoch(dataset))
    assert set(np.unique(first)) == {0.0, 1.0}
    assert abs(first.mean() - 0.3) < 0.01  # 32,000 pixels: standard error 0.0026
    assert not np.array_equal(first, second)


def test_validation_binarization_is_identical_every_epoch():
    images = small_images(8)
    labels = np.arange(8)
    dataset = data.make_dataset(images, labels, batch_size=8, binarize=True, seed=0)
    ((x1, y1),) = epoch(dataset)
    ((x2, _),) = epoch(dataset)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, labels)
    assert set(np.unique(x1)) <= {0.0, 1.0}


def test_mnist_datasets_split_and_train_on_all():
    train, validation = data.mnist_datasets(batch_size=1000)
    assert train.cardinality().numpy() == 60 and validation.cardinality().numpy() == 10
    train_all, none = data.mnist_datasets(batch_size=1000, train_on_all=True)
    assert train_all.cardinality().numpy() == 70 and none is None
    batch = next(iter(train_all))
    assert tuple(batch.shape) == (1000, 28, 28, 1)


def test_make_dataset_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        data.make_dataset(small_images(), batch_size=0)


def test_keras_datasets_by_name_offline_message(monkeypatch):
    import urllib.error

    import keras

    def offline():
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    monkeypatch.setenv("KERAS_HOME", "/somewhere/keras")
    with pytest.raises(OSError) as error:
        data.load_dataset("fashion_mnist")
    message = str(error.value)
    assert "Cannot load fashion_mnist through keras.datasets (URLError" in message
    assert "/somewhere/keras/datasets" in message
    assert "fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz" in message
    with pytest.raises(ValueError, match="dataset must be one of"):
        data.load_dataset("imagenet")


def test_keras_datasets_become_float_images_with_flat_labels(monkeypatch):
    import keras

    rng = np.random.default_rng(0)
    fake = (
        (rng.integers(0, 256, (6, 32, 32, 3), dtype="uint8"), rng.integers(0, 10, (6, 1))),
        (rng.integers(0, 256, (4, 32, 32, 3), dtype="uint8"), rng.integers(0, 10, (4, 1))),
    )
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: fake)
    (x_train, y_train), (x_test, y_test) = data.load_dataset("cifar10")
    assert x_train.shape == (6, 32, 32, 3) and x_train.dtype == np.float32
    np.testing.assert_allclose(x_train, fake[0][0] / 255.0, rtol=1e-6)
    assert y_train.shape == (6,) and y_train.dtype == np.int32 and y_test.shape == (4,)
    np.testing.assert_array_equal(y_train, fake[0][1].ravel())
    assert data.num_classes("cifar10") == 10 == data.num_classes("mnist")
