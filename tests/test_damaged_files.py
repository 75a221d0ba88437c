"""Damaged files of a run say which file and what is wrong: vae.keras, config.json, history.csv, SavedModel."""

import os
import re
import shutil

import numpy as np
import pytest
from conftest import run_python

import vae_tf
from vae_tf import data
from vae_tf.explorer.backends import SavedModelBackend
from vae_tf.runs import load_run
from vae_tf.runs import read_config
from vae_tf.runs import read_history


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_run):
    """A finished run of the conv: 2 steps on 64 digits (shared: tests damage a copy)."""
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    dataset = str(tmp_path_factory.mktemp("damaged") / "digits.npz")
    np.savez(
        dataset, x_train=x_train[:64], y_train=y_train[:64], x_test=x_test[:32], y_test=y_test[:32]
    )
    run = tiny_run(architecture="conv", steps_per_epoch=2, batch_size=16, dataset=dataset)
    return run.run_dir


@pytest.fixture
def run_dir(finished_run, tmp_path):
    """A copy of the finished run, to damage."""
    return shutil.copytree(finished_run, tmp_path / "run")


def _truncate(path, keep=0.5):
    content = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(content[: int(len(content) * keep)])


def _garbage(path):
    size = os.path.getsize(path)
    with open(path, "wb") as f:
        f.write(np.random.default_rng(0).integers(0, 256, max(size, 64), "uint8").tobytes())


def _damaged(path):
    """The start of the message naming `path` as damaged."""
    return "^" + re.escape(str(path)) + r" is damaged \("


@pytest.mark.parametrize("damage", [_truncate, _garbage])
def test_a_damaged_vae_keras_is_named_not_missing(run_dir, damage):
    model_path = run_dir / "vae.keras"
    damage(model_path)
    with pytest.raises(
        vae_tf.DamagedFileError,
        match=_damaged(model_path) + r"not a complete "
        r"\.keras archive: .*\): train the run again, or restore the file",
    ):
        load_run(run_dir)


def test_scripts_report_a_truncated_vae_keras_in_one_line(run_dir):
    _truncate(run_dir / "vae.keras")
    result = run_python(["scripts/visualize.py", f"--run_dir={run_dir}"])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert re.match(
        r"visualize\.py: error: "
        + re.escape(str(run_dir / "vae.keras"))
        + r" is damaged \(not a complete \.keras archive",
        lines[-1],
    ), result.stderr


@pytest.mark.parametrize(
    "content, problem",
    [
        ("", r"empty"),
        ('{"latent_dim": 2, "ep', r"not valid JSON: .*"),
        ("[1, 2]", r"a JSON list, not the settings"),
    ],
)
def test_a_damaged_config_json_says_what_is_wrong(run_dir, content, problem):
    (run_dir / "config.json").write_text(content)
    with pytest.raises(
        vae_tf.DamagedFileError,
        match=_damaged(run_dir / "config.json") + problem + r"\): restore it from a copy",
    ):
        read_config(run_dir)


@pytest.mark.parametrize(
    "edit, problem",
    [
        (
            lambda lines: lines[:-1] + [lines[-1][: len(lines[-1]) // 2]],
            r"line 2 has \d+ cells for \d+ columns",
        ),
        (
            lambda lines: lines[:1] + [lines[1].replace(lines[1].split(",")[2], "x1.5e", 1)],
            r"line 2: \w+ is 'x1\.5e', not a number",
        ),
    ],
)
def test_a_damaged_history_csv_names_the_line(run_dir, edit, problem):
    history = run_dir / "history.csv"
    lines = history.read_text().splitlines()
    assert len(lines) == 2  # the header and one epoch
    history.write_text("\n".join(edit(lines)) + "\n")
    with pytest.raises(vae_tf.DamagedFileError, match=_damaged(history) + problem):
        read_history(history)
    with pytest.raises(vae_tf.DamagedFileError, match=_damaged(history)):
        load_run(run_dir)


def _variables_file(saved_model, suffix):
    return next(
        os.path.join(saved_model, "variables", name)
        for name in os.listdir(os.path.join(saved_model, "variables"))
        if name.endswith(suffix)
    )


@pytest.mark.parametrize(
    "damaged, named",
    [
        (lambda path: os.path.join(path, "saved_model.pb"), "saved_model.pb"),
        (lambda path: _variables_file(path, ".data-00000-of-00001"), "variables"),
        (lambda path: _variables_file(path, ".index"), "variables"),
    ],
)
def test_a_damaged_saved_model_names_the_part_that_is_damaged(run_dir, damaged, named):
    saved_model = str(run_dir / "saved_model")
    assert vae_tf.load_saved_model(saved_model).decode is not None  # whole, it loads
    _truncate(damaged(saved_model))
    expected = _damaged(os.path.join(saved_model, named)) + r".+\): export the model again"
    with pytest.raises(vae_tf.DamagedFileError, match=expected):
        vae_tf.load_saved_model(saved_model)
    with pytest.raises(vae_tf.DamagedFileError, match=expected):
        SavedModelBackend(saved_model)  # the explorer's


def test_a_folder_without_saved_model_pb_is_not_a_saved_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a SavedModel directory"):
        vae_tf.load_saved_model(str(tmp_path))
