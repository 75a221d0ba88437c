"""The presets: shipped ones that still give their numbers, and the folder format's checks."""

import dataclasses
import json
import os
import shlex
import shutil
import sys

import numpy as np
import pytest
from absl import app
from absl import flags
from conftest import REPO

import vae_tf
from vae_tf import cli
from vae_tf import explorer
from vae_tf import presets
from vae_tf.data import faces
from vae_tf.presets.catalog import SHIPPED_PRESETS
from vae_tf.presets.loading import SHIPPED_DIR
from vae_tf.runs import preset_files

# What a figure of the slice may move between machines (float32 sums over 784 pixels).
SLICE_TOLERANCE = dict(rtol=1e-3, atol=0.05)


@pytest.mark.parametrize("name", presets.list_presets())
def test_a_shipped_preset_gives_the_numbers_of_its_metadata(name):
    """Its slice measured again matches; the full protocol's figure is consistent with it."""
    info = presets.metadata(name)
    recipe = SHIPPED_PRESETS[name]
    assert info["name"] == name and info["description"] == recipe["description"]
    # The command is the recipe's, and gives the settings the preset records.
    config = vae_tf.TrainConfig(**recipe["settings"])
    assert info["command"] == config.command()
    assert info["settings"] == {
        key: value for key, value in config.settings().items() if key != "output_dir"
    }
    assert info["versions"]["vae_tf"] and info["parameter_count"] > 0
    evaluation = info["evaluation"]
    protocol = recipe["evaluation"]
    assert evaluation["num_examples"] == protocol["num_examples"]
    assert ("fid" in evaluation) == protocol["sample_quality"]
    check = info["check"]
    arrays = None
    if info["dataset"] == "faces":
        # The test split alone, as load_faces draws it: 1 s, not the 6 s of both splits.
        test_images, _ = vae_tf.data.make_faces(faces.TEST_COUNT, seed=[0, 1])
        arrays = ((None, None), (test_images, None))
    again = presets.slice_figures(
        presets.preset_directory(name), check["k"], check["num_examples"], arrays=arrays
    )
    assert again["figures"].keys() == check["figures"].keys()
    for key, value in check["figures"].items():
        np.testing.assert_allclose(again["figures"][key], value, **SLICE_TOLERANCE, err_msg=key)
    # The whole test set's figure lies within 4 standard errors of the slice's.
    key = "nll" if evaluation["nll"] is not None else "reconstruction"
    assert evaluation["k"] == (protocol["k"] if key == "nll" else None)
    slice_value, slice_error = check["figures"][key], check["figures"][f"{key}_standard_error"]
    assert abs(evaluation[key] - slice_value) < 4 * slice_error, (evaluation[key], slice_value)


def test_a_preset_decodes_with_nothing_trained():
    vae = vae_tf.from_preset("mnist_conv_latent2")
    images = np.asarray(vae.decode(np.array([[0.0, 0.0], [1.5, -0.5]], "float32")))
    assert images.shape == (2, 28, 28, 1) and 0 <= images.min() and images.max() <= 1
    # A trained decoder: the two points give different digits with strokes.
    assert np.abs(images[0] - images[1]).mean() > 0.02 and images.max() > 0.5
    assert vae.compiled  # ready for fit and evaluate too
    info = presets.metadata("mnist_conv_latent2")
    assert info["command"] == "python scripts/train.py --latent_dim=2"
    assert {"elbo", "nll", "nll_standard_error", "k", "active_units", "fid"} <= set(
        info["evaluation"]
    )


def test_the_shipped_presets_fit_the_wheel_budget():
    """Every shipped preset has its folder, and the package's files stay under 40 MB."""
    assert sorted(os.listdir(SHIPPED_DIR)) == presets.list_presets()
    for name in presets.list_presets():
        info = preset_files.read_metadata(os.path.join(SHIPPED_DIR, name))
        weights = os.path.join(SHIPPED_DIR, name, preset_files.WEIGHTS_FILE)
        assert os.path.getsize(weights) == info["weights_bytes"]
    package = os.path.join(REPO, "vae_tf")
    total = sum(
        os.path.getsize(os.path.join(folder, file))
        for folder, _, files in os.walk(package)
        if "__pycache__" not in folder
        for file in files
    )
    assert total < 40e6, f"the package's files take {total / 1e6:.1f} MB"


@pytest.mark.parametrize(
    "settings",
    [recipe["settings"] for recipe in SHIPPED_PRESETS.values()]
    + [{"data_dir": "my faces/", "image_size": 64, "time_limit": "1h30m", "jit_compile": False}],
)
def test_a_command_parses_back_to_its_settings(settings):
    """`TrainConfig.command()`, split as a shell does, gives train.py's flags of the same settings."""
    config = vae_tf.TrainConfig(**settings)
    words = shlex.split(config.command())
    assert words[:2] == ["python", "scripts/train.py"]
    assert f"--latent_dim={config.latent_dim}" in words  # always: it names a run
    values = flags.FlagValues()
    cli.define_train_flags(flag_values=values)
    values(["train.py", *words[2:]])
    assert cli.config_from_flags(values) == config


def test_versions_compare_as_numbers_and_scripts_want_one_model():
    assert preset_files.version_tuple("0.10") > preset_files.version_tuple("0.9.5")
    assert preset_files.version_tuple("1.0") == preset_files.version_tuple("1.0.0")
    assert preset_files.version_tuple("0.3.0rc1") == (0, 3, 0)
    values = flags.FlagValues()
    flags.DEFINE_string("run_dir", None, "", flag_values=values)
    cli.define_preset_flag(flag_values=values)
    values(["x"])
    with pytest.raises(app.UsageError, match="one of them"):
        cli.run_dir_or_preset(values)
    values(["x", "--run_dir=runs/a", "--preset=mnist_vq_vae"])
    with pytest.raises(app.UsageError, match="one of them"):
        cli.run_dir_or_preset(values)
    values["run_dir"].value = None
    assert cli.run_dir_or_preset(values) == os.path.join(SHIPPED_DIR, "mnist_vq_vae")


@pytest.fixture(scope="module")
def saved_preset(tiny_run, tmp_path_factory):
    """A tiny run saved as a preset folder: `(run, folder)`."""
    run = tiny_run()
    folder = str(tmp_path_factory.mktemp("presets") / "tiny")
    presets.save_preset(run.run_dir, folder, description="A tiny run.")
    return run, folder


def test_save_preset_writes_a_run_that_from_preset_reads(saved_preset):
    run, folder = saved_preset
    assert sorted(os.listdir(folder)) == sorted(preset_files.PRESET_FILES)
    info = presets.metadata(folder)
    assert info["name"] == "tiny" and info["description"] == "A tiny run."
    assert info["command"] == vae_tf.runs.read_config(run.run_dir).command()
    assert info["training"]["epochs_done"] == 1 and info["evaluation"] is None
    # The weights alone: no optimizer state (which the run's vae.keras holds).
    with open(os.path.join(folder, "config.json")) as f:
        assert json.load(f)["class_name"] == "VAE"
    loaded = vae_tf.from_preset(folder)
    z = np.array([[0.3, -1.0]], "float32")
    np.testing.assert_allclose(loaded.decode(z), run.model.decode(z), atol=1e-6)
    # A preset reads as a finished run: the run tools take it.
    as_run = vae_tf.load_run(folder)
    assert as_run.history == {} and as_run.training == info["training"]
    assert vae_tf.runs.read_config(folder) == dataclasses.replace(
        vae_tf.runs.read_config(run.run_dir), output_dir=None
    )
    result = vae_tf.runs.evaluate_run(folder, num_samples=2, num_examples=8)
    assert result["nll"] is not None
    state = explorer.load_explorer(run_dir=folder, num_images=16)
    assert state.name == "tiny"


def _copy(folder, tmp_path):
    copy = str(tmp_path / "copy")
    shutil.copytree(folder, copy)
    return copy


def test_a_damaged_preset_is_refused_naming_the_file(saved_preset, tmp_path):
    copy = _copy(saved_preset[1], tmp_path)
    weights = os.path.join(copy, preset_files.WEIGHTS_FILE)
    with open(weights, "r+b") as f:
        f.seek(os.path.getsize(weights) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(vae_tf.DamagedFileError, match="model.weights.h5.*SHA-256"):
        vae_tf.from_preset(copy)
    # An edited config.json is refused too, though it is still JSON.
    copy = _copy(saved_preset[1], tmp_path / "second")
    config = os.path.join(copy, "config.json")
    with open(config) as f:
        text = f.read()
    with open(config, "w") as f:
        f.write('{"edited": true, ' + text.lstrip()[1:])
    with pytest.raises(vae_tf.DamagedFileError, match="config.json.*SHA-256"):
        vae_tf.from_preset(copy)
    os.remove(os.path.join(copy, preset_files.WEIGHTS_FILE))
    with pytest.raises(FileNotFoundError, match="not a preset: it has no model.weights.h5"):
        vae_tf.from_preset(copy)
    with open(os.path.join(copy, preset_files.METADATA_FILE), "w") as f:
        f.write("{}")
    shutil.copy(os.path.join(saved_preset[1], preset_files.WEIGHTS_FILE), copy)
    with pytest.raises(
        vae_tf.DamagedFileError, match="metadata.json.*not a preset's metadata .no reader_version"
    ):
        vae_tf.from_preset(copy)
    with pytest.raises(FileNotFoundError, match="It is a run directory"):
        vae_tf.from_preset(saved_preset[0].run_dir)


def test_a_preset_of_a_newer_vae_tf_names_the_version_it_needs(saved_preset, tmp_path):
    copy = _copy(saved_preset[1], tmp_path)
    path = os.path.join(copy, preset_files.METADATA_FILE)
    with open(path) as f:
        info = json.load(f)
    with open(path, "w") as f:
        json.dump({**info, "reader_version": "99.1.0"}, f)
    with pytest.raises(presets.PresetVersionError, match=r"needs vae_tf 99\.1\.0.*>=99\.1\.0"):
        presets.metadata(copy)


def test_unknown_names_and_addresses_say_what_is_known(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="Unknown preset 'mnist_conv'.*mnist_conv_latent2"):
        vae_tf.from_preset("mnist_conv")
    with pytest.raises(FileNotFoundError, match="No preset folder"):
        vae_tf.from_preset(str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match="has no config.json and no model.weights.h5"):
        vae_tf.from_preset(str(tmp_path))
    with pytest.raises(ValueError, match="write hf://owner/name"):
        vae_tf.from_preset("hf://just-a-name")
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # not installed
    with pytest.raises(ImportError, match="pip install huggingface_hub"):
        vae_tf.from_preset("hf://someone/a-vae")


def test_save_preset_leaves_a_folder_that_is_not_a_preset_alone(
    saved_preset, tmp_path, monkeypatch
):
    run, folder = saved_preset
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "metadata.json").write_text("{}")
    (mine / "notes.txt").write_text("my notes")
    with pytest.raises(
        FileExistsError, match=r"not a preset \(it holds metadata.json, notes.txt\)"
    ):
        presets.save_preset(run.run_dir, str(mine))
    assert sorted(os.listdir(mine)) == ["metadata.json", "notes.txt"]
    (tmp_path / "copy.old").mkdir()  # a user's, beside the preset: left alone
    again = _copy(folder, tmp_path)
    # A write that fails at its last step keeps the earlier preset.
    rename = os.rename

    def failing(source, target):
        if ".partial-" in source:
            raise OSError("disk gone")
        rename(source, target)

    monkeypatch.setattr(preset_files.os, "rename", failing)
    with pytest.raises(OSError, match="disk gone"):
        presets.save_preset(run.run_dir, again, description="Lost.")
    monkeypatch.setattr(preset_files.os, "rename", rename)
    assert presets.metadata(again)["description"] == "A tiny run."
    # A preset is replaced whole.
    info = presets.save_preset(run.run_dir, again, description="Again.")
    assert presets.metadata(again)["description"] == "Again." == info["description"]
    assert sorted(os.listdir(tmp_path)) == ["copy", "copy.old", "mine"]  # nothing of ours left


def test_a_preset_s_saved_model_is_exported_once_into_the_cache(
    saved_preset, monkeypatch, tmp_path
):
    run, folder = saved_preset
    monkeypatch.setenv("VAE_TF_CACHE", str(tmp_path))
    path = presets.preset_saved_model(folder)
    assert path.startswith(str(tmp_path / "presets" / "tiny-"))
    z = np.array([[0.5, -0.5]], "float32")
    loaded = vae_tf.load_saved_model(path)  # held: its functions need it alive
    np.testing.assert_allclose(loaded.decode(z), run.model.decode(z), atol=1e-5)
    stamp = os.path.getmtime(os.path.join(path, "saved_model.pb"))
    assert presets.preset_saved_model(folder) == path
    assert os.path.getmtime(os.path.join(path, "saved_model.pb")) == stamp
