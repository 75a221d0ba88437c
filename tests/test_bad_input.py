"""Bad input: one clear line naming the problem and its fix, exit status 2 from the scripts."""

import os

import numpy as np
import pytest
from conftest import run_python
from conftest import tiny_config

from vae_tf import data
from vae_tf.runs import TrainConfig
from vae_tf.runs import train


def _npz(path, x_train=None, x_test=None, **arrays):
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (40, 8, 8), dtype="uint8") if x_train is None else x_train
    x_test = rng.integers(0, 256, (10, 8, 8), dtype="uint8") if x_test is None else x_test
    np.savez(path, x_train=x_train, x_test=x_test, **arrays)
    return str(path)


def _train(tmp_path, dataset, **changes):
    """Trains the conv on `dataset` in `tmp_path/run`: whole epochs of 16 images a step."""
    config = tiny_config(
        tmp_path / "run",
        dataset=dataset,
        architecture="conv",
        batch_size=16,
        steps_per_epoch=None,
        **changes,
    )
    return train(config, verbose=0)


def test_own_npz_arrays_train_like_a_named_dataset(tmp_path):
    labels = dict(y_train=np.arange(40) % 3, y_test=np.arange(10) % 3)
    path = _npz(tmp_path / "mine.npz", **labels)
    assert data.image_shape(path) == (8, 8, 1) and data.num_classes(path) == 3
    (x_train, y_train), (x_test, _) = data.load_dataset(path)
    assert x_train.dtype == np.float32 and x_train.shape == (40, 8, 8, 1)
    assert x_train.max() <= 1 and list(y_train[:4]) == [0, 1, 2, 0]
    result = _train(tmp_path, path, conditional=True)
    assert result.model.image_shape == (8, 8, 1) and result.model.conditional
    assert len(result.history["val_total_loss"]) == 1
    assert os.path.isfile(tmp_path / "run" / "vae.keras")


@pytest.mark.parametrize(
    "arrays, error, message",
    [
        (
            dict(x_train=np.zeros((40, 30, 30), "uint8"), x_test=np.zeros((9, 30, 30), "uint8")),
            ValueError,
            "multiple",
        ),
        (
            dict(x_train=np.zeros((40, 8, 8, 1, 1), "uint8")),
            ValueError,
            r"must have shape \(N, height, width, channels\)",
        ),
        (dict(x_train=np.full((40, 8, 8), 255.0)), ValueError, "divide by 255"),
        (
            dict(x_train=np.where(np.arange(40)[:, None, None] == 3, np.nan, np.zeros((40, 8, 8)))),
            ValueError,
            r"NaN or infinite values in 1 image\(s\), the first at index 3",
        ),
        (dict(x_train=np.zeros((0, 8, 8), "uint8")), ValueError, "is empty"),
        (
            dict(y_train=-np.ones(40, "int64"), y_test=np.zeros(10, "int64")),
            ValueError,
            "negative classes",
        ),
        (
            dict(y_train=np.zeros(40) + 0.5, y_test=np.zeros(10)),
            ValueError,
            "integer class indices",
        ),
        (
            dict(y_train=np.zeros(39, "int64"), y_test=np.zeros(10, "int64")),
            ValueError,
            "one label per image: 40 images but 39 labels",
        ),
        (dict(y_train=np.zeros(40, "int64")), ValueError, "both y_train and y_test"),
        (dict(x_test=np.zeros((10, 4, 4), "uint8")), ValueError, "of one shape"),
    ],
)
def test_bad_npz_arrays_are_named_with_their_fix(tmp_path, arrays, error, message):
    path = _npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(error, match=message):
        _train(tmp_path, path)
    assert not os.listdir(tmp_path) == [] and sorted(os.listdir(tmp_path)) == ["bad.npz"]


def test_unreadable_npz_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such file: .*missing.npz"):
        _train(tmp_path, str(tmp_path / "missing.npz"))
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="Cannot read .*garbage.npz as an .npz"):
        _train(tmp_path, str(tmp_path / "garbage.npz"))
    np.savez(
        tmp_path / "pickled.npz",
        x_train=np.array([{"a": 1}], dtype=object),
        x_test=np.zeros((1, 8, 8)),
    )
    with pytest.raises(ValueError, match="allow_pickle"):  # never unpickled
        _train(tmp_path, str(tmp_path / "pickled.npz"))
    np.savez(tmp_path / "keys.npz", images=np.zeros((4, 8, 8)))
    with pytest.raises(ValueError, match=r"lacks \['x_train', 'x_test'\] \(it has \['images'\]\)"):
        _train(tmp_path, str(tmp_path / "keys.npz"))


def test_conditional_needs_labels(tmp_path):
    with pytest.raises(ValueError, match="needs labels: add y_train and y_test"):
        _train(tmp_path, _npz(tmp_path / "unlabelled.npz"), conditional=True)
    with pytest.raises(ValueError, match="faces has factors of variation but no classes"):
        _train(tmp_path, "faces", conditional=True)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(architecture="resnet"), "architecture must be one of"),
        (dict(latent_dim=0), "latent_dim must be a positive integer"),
        (dict(epochs=-1), "epochs must be a positive integer"),
        (dict(batch_size=0), "batch_size must be a positive integer"),
        (dict(dataset="imagenet"), "dataset must be one of .* or the path of an .npz"),
    ],
)
def test_bad_settings_are_named(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes).validate()


def test_output_dir_that_cannot_be_written(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(PermissionError, match=r"file is a file\. Choose an output_dir"):
        train(TrainConfig(output_dir=str(tmp_path / "file" / "run")), verbose=0)


@pytest.mark.slow
def test_scripts_print_one_line_and_exit_2_without_traceback(tmp_path):
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file")
    result = run_python(
        [
            "scripts/train.py",
            f"--dataset={tmp_path / 'garbage.npz'}",
            f"--output_dir={tmp_path / 'run'}",
        ]
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("train.py: error: Cannot read")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.partial").exists()
    verbose = run_python(["scripts/train.py", f"--dataset={tmp_path / 'garbage.npz'}", "--verbose"])
    assert verbose.returncode != 0 and "Traceback" in verbose.stderr
    flag = run_python(["scripts/evaluate.py", "--run_dir=x", "--k=0"])
    assert flag.returncode == 2
    assert flag.stderr.strip().splitlines()[-1].startswith("evaluate.py: error: flag --k=0")
