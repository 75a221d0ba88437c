"""The disentanglement sweep: each model over its published values and seeds, tables, figure."""

import csv
import dataclasses
import json
import os
import shutil

import numpy as np
import pytest
from conftest import run_python

import vae_tf
from vae_tf.models.dip_vae import default_lambda_d
from vae_tf.models.registry import get_variant
from vae_tf.runs import disentanglement_sweep as ds
from vae_tf.runs import sweeps

# Two values of beta, two seeds, runs of two steps measured on 200 test images
# (enough for every metric: the FactorVAE and beta-VAE scores draw their
# batches from the images that share a factor's value).
BASE = vae_tf.TrainConfig(
    dataset="shapes", architecture="mlp", latent_dim=4, epochs=1, steps_per_epoch=2
)
SWEEP = dict(models=["vae"], values={"vae": [1, 4]}, seeds=(0, 1), num_examples=200)


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _no_training(*args, **kwargs):
    pytest.fail("a run trained")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """`(output_dir, rows, log lines)` of the tiny sweep, trained once for the module."""
    output_dir = str(tmp_path_factory.mktemp("disentanglement"))
    lines = []
    rows = ds.run_disentanglement_sweep(BASE, output_dir=output_dir, log=lines.append, **SWEEP)
    return output_dir, rows, lines


def test_the_published_values_are_disentanglement_libs():
    # disentanglement_lib/config/unsupervised_study_v1/sweep.py, get_default_models().
    table = {
        key: (entry.model, entry.setting, entry.values, entry.fixed)
        for key, entry in ds.PUBLISHED_VALUES.items()
    }
    assert table == {
        "vae": ("vae", "beta", (1, 2, 4, 6, 8, 16), {}),
        "annealed_vae": ("annealed_vae", "capacity_max", (5, 10, 25, 50, 75, 100), {}),
        "factor_vae": ("factor_vae", "gamma", (10, 20, 30, 40, 50, 100), {}),
        "dip_vae": ("dip_vae", "lambda_od", (1, 2, 5, 10, 20, 50), {"dip_type": "i"}),
        "dip_vae_ii": ("dip_vae", "lambda_od", (1, 2, 5, 10, 20, 50), {"dip_type": "ii"}),
        "beta_tcvae": ("beta_tcvae", "tc_weight", (1, 2, 4, 6, 8, 10), {}),
    }
    fields = {field.name for field in dataclasses.fields(vae_tf.TrainConfig)}
    for entry in ds.PUBLISHED_VALUES.values():
        # Every model is registered and takes the settings the sweep sets.
        taken = get_variant(entry.model).setting_names()
        assert {entry.setting, *entry.fixed} <= fields & set(taken)


def test_the_studys_fixed_settings_are_the_models_defaults():
    # annealed_vae.gamma 1000 and iteration_threshold 100000; lambda_d_factor 10 (i), 1 (ii).
    config = vae_tf.TrainConfig(model="annealed_vae", architecture="mlp", capacity_max=5.0)
    annealed = vae_tf.runs.build_model(config)
    assert (annealed.gamma, annealed.capacity_steps) == (1000.0, 100000)
    assert default_lambda_d("i", 5.0) == 50.0 and default_lambda_d("ii", 5.0) == 5.0
    for dip_type, lambda_d in (("i", 20.0), ("ii", 2.0)):
        config = vae_tf.TrainConfig(
            model="dip_vae", architecture="mlp", dip_type=dip_type, lambda_od=2.0
        )
        assert vae_tf.runs.build_model(config).lambda_d == lambda_d


def test_every_run_is_trained_at_its_value_and_seed_and_measured(sweep):
    output_dir, rows, lines = sweep
    assert [(row["model"], row["setting"], row["value"], row["seed"]) for row in rows] == [
        ("vae", "beta", 1, 0),
        ("vae", "beta", 1, 1),
        ("vae", "beta", 4, 0),
        ("vae", "beta", 4, 1),
    ]
    assert lines[0] == "[1/4] vae beta=1 seed 0: training and evaluating"
    assert lines[1].startswith("[1/4] vae beta=1 seed 0:  mig ")
    for row in rows:
        assert row["run_dir"] == os.path.join(
            output_dir, "vae", f"beta{row['value']}_seed{row['seed']}"
        )
        run = vae_tf.runs.load_run(row["run_dir"])
        seed = vae_tf.runs.read_config(row["run_dir"]).seed
        assert (run.model.beta, seed) == (row["value"], row["seed"])
        history = run.history
        assert row["kl"] == history["val_kl_loss"][-1] > 0
        assert row["reconstruction"] == history["val_reconstruction_loss"][-1]
        assert row["total_loss"] == pytest.approx(row["reconstruction"] + row["kl"], rel=1e-5)
        for key in ds.METRIC_KEYS:
            assert 0 <= row[key] <= 1, key
    # The numbers are the run's own, measured with its seed on the first 200 test images.
    again = vae_tf.runs.disentanglement_run(rows[3]["run_dir"], num_examples=200, seed=1)
    assert {key: again[key] for key in ds.METRIC_KEYS} == {
        key: rows[3][key] for key in ds.METRIC_KEYS
    }
    # Two seeds of one value are two different runs.
    assert rows[0]["kl"] != rows[1]["kl"]


def test_the_tables_hold_every_run_and_the_mean_and_spread_over_seeds(sweep):
    output_dir, rows, _ = sweep
    runs = _read(os.path.join(output_dir, "disentanglement_runs.csv"))
    assert [list(run) for run in runs] == [list(ds.RUN_COLUMNS)] * 4
    for run, row in zip(runs, rows):
        assert run["model"] == "vae" and run["run_dir"] == row["run_dir"]
        assert [float(run[key]) for key in ds.SUMMARY_KEYS] == [row[key] for key in ds.SUMMARY_KEYS]
    summary = _read(os.path.join(output_dir, "disentanglement_summary.csv"))
    assert [(row["model"], row["setting"], float(row["value"])) for row in summary] == [
        ("vae", "beta", 1.0),
        ("vae", "beta", 4.0),
    ]
    for row in summary:
        assert list(row) == list(ds.SUMMARY_COLUMNS) and row["seeds"] == "2"
        seeds = [run for run in runs if float(run["value"]) == float(row["value"])]
        for key in ds.SUMMARY_KEYS:
            numbers = [float(run[key]) for run in seeds]
            assert float(row[f"{key}_mean"]) == pytest.approx(np.mean(numbers), rel=1e-12)
            assert float(row[f"{key}_std"]) == pytest.approx(np.std(numbers, ddof=1), rel=1e-12)
            # Two seeds: the sample standard deviation is half their distance times sqrt 2.
            assert float(row[f"{key}_std"]) == pytest.approx(
                abs(numbers[0] - numbers[1]) / np.sqrt(2), rel=1e-9, abs=1e-15
            )
    with open(os.path.join(output_dir, "disentanglement_sweep.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_sweep_run_again_reuses_every_point(sweep, monkeypatch):
    output_dir, rows, _ = sweep
    monkeypatch.setattr(sweeps, "train", _no_training)
    monkeypatch.setattr(ds, "disentanglement_run", lambda *a, **k: pytest.fail("measured again"))
    lines = []
    again = ds.run_disentanglement_sweep(BASE, output_dir=output_dir, log=lines.append, **SWEEP)
    assert again == rows
    assert not any("training" in line for line in lines) and len(lines) == 4


def test_other_num_examples_measure_again_without_training(sweep, monkeypatch, tmp_path):
    output_dir, rows, _ = sweep
    copy = str(tmp_path / "copy")
    for row in rows[:2]:  # one value, both seeds, copied: the module's sweep stays as it is
        shutil.copytree(row["run_dir"], os.path.join(copy, "vae", os.path.basename(row["run_dir"])))
    monkeypatch.setattr(sweeps, "train", _no_training)
    measured = []
    real = ds.disentanglement_run

    def counting(run_dir, *args, **kwargs):
        measured.append(run_dir)
        return real(run_dir, *args, **kwargs)

    monkeypatch.setattr(ds, "disentanglement_run", counting)
    sweep_of_one = {**SWEEP, "values": {"vae": [1]}, "num_examples": 150}
    again = ds.run_disentanglement_sweep(BASE, output_dir=copy, log=None, **sweep_of_one)
    assert len(measured) == 2
    assert [row["kl"] for row in again] == [row["kl"] for row in rows[:2]]
    with open(os.path.join(again[0]["run_dir"], ds.RESULT_FILE)) as f:
        saved = json.load(f)
    assert saved["disentanglement_examples"] == 150
    assert saved["measured_with"] == {"num_examples": 150}


def _captured_points(monkeypatch, base, **kwargs):
    """The `(name, overrides, run_dir)` points the sweep would train, with made-up results."""
    captured = []

    def fake(base_config, points, *args, **more):
        captured.extend(points)
        return [{key: 0.5 for key in ds.SUMMARY_KEYS} for _ in points]

    monkeypatch.setattr(ds, "measure_points", fake)
    monkeypatch.setattr(ds.data, "load_dataset", lambda name: None)
    ds.run_disentanglement_sweep(base, log=None, **kwargs)
    return captured


def test_the_runs_take_the_published_values_and_model_settings_where_they_apply(
    monkeypatch, tmp_path
):
    base = dataclasses.replace(BASE, capacity_steps=500, kl_warmup_epochs=1)
    points = _captured_points(
        monkeypatch,
        base,
        models=["vae", "annealed_vae", "dip_vae_ii"],
        seeds=(7,),
        output_dir=str(tmp_path),
    )
    assert len(points) == 18
    configs = {
        os.path.relpath(run_dir, tmp_path): dataclasses.replace(base, **overrides)
        for _, overrides, run_dir in points
    }
    vae = configs[os.path.join("vae", "beta16_seed7")]
    assert (vae.model, vae.beta, vae.seed, vae.kl_warmup_epochs) == ("vae", 16.0, 7, 1)
    assert vae.capacity_steps == vae_tf.TrainConfig().capacity_steps  # not the vae's setting
    annealed = configs[os.path.join("annealed_vae", "capacity_max25_seed7")]
    assert (annealed.capacity_max, annealed.capacity_steps) == (25.0, 500)
    assert annealed.kl_warmup_epochs == 0  # annealed_vae has its own schedule
    dip = configs[os.path.join("dip_vae_ii", "lambda_od50_seed7")]
    assert (dip.model, dip.dip_type, dip.lambda_od, dip.kl_warmup_epochs) == (
        "dip_vae",
        "ii",
        50.0,
        1,
    )
    for config in configs.values():
        config.validate()
    summary = _read(tmp_path / "disentanglement_summary.csv")
    assert len(summary) == 18 and {row["seeds"] for row in summary} == {"1"}


@pytest.mark.parametrize(
    "base, kwargs, message",
    [
        (BASE, dict(models=["beta_vae"]), "models must be distinct keys of PUBLISHED_VALUES"),
        (BASE, dict(models=["vae", "vae"]), "models must be distinct"),
        (
            dataclasses.replace(BASE, dataset="mnist", architecture="mlp"),
            dict(models=["vae"]),
            "mnist has no known factors of variation.*dataset=shapes",
        ),
        (BASE, dict(models=["vae"], values={"factor_vae": [1]}), "values are given for"),
        (BASE, dict(models=["vae"], values={"vae": [1, 1]}), "values must be distinct"),
        (BASE, dict(models=["vae"], values={"vae": [-1]}), r"vae with beta=-1: beta must be"),
        (BASE, dict(models=["vae"], seeds=()), "seeds must be distinct whole numbers"),
        (BASE, dict(models=["vae"], seeds=(0, -1)), "seeds must be distinct whole numbers"),
        (BASE, dict(models=["vae"], num_examples=0), "num_examples must be"),
        (
            dataclasses.replace(BASE, beta=4.0),
            dict(models=["vae"]),
            "The sweep sets beta of vae itself",
        ),
        (
            dataclasses.replace(BASE, dip_type="ii", model="dip_vae"),
            dict(models=["dip_vae"]),
            "The sweep sets dip_type of dip_vae itself",
        ),
        (
            dataclasses.replace(BASE, capacity_steps=10, model="annealed_vae"),
            dict(models=["vae", "factor_vae"]),
            r"sets capacity_steps, which none of the sweep's models takes.*\(annealed_vae\)",
        ),
        (
            dataclasses.replace(BASE, autoencoder=True),
            dict(models=["vae"]),
            "leave base_config's autoencoder False",
        ),
    ],
)
def test_bad_input_is_refused_before_anything_trains(monkeypatch, tmp_path, base, kwargs, message):
    monkeypatch.setattr(sweeps, "train", _no_training)
    output_dir = tmp_path / "sweep"
    with pytest.raises(ValueError, match=message):
        ds.run_disentanglement_sweep(base, output_dir=str(output_dir), log=None, **kwargs)
    assert not output_dir.exists()


# The script's flags, read in a process of their own (absl's flags are global):
# each case is `[call, argv]`; "main" cases must fail before anything trains.
SCRIPT_CASES = """
import json, sys
import importlib.util
spec = importlib.util.spec_from_file_location("sweep_script", "scripts/sweep.py")
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)
def no_training(*args, **kwargs):
    raise RuntimeError("a run trained")
script.sweeps.train = no_training
for call, argv in json.loads(sys.argv[1]):
    script.FLAGS.unparse_flags()
    script.FLAGS(["sweep.py", *argv])
    try:
        if call == "main":
            script.main(["sweep.py"])
            print(json.dumps(["no error", ""]))
        else:
            base = script._disentanglement_base()
            print(json.dumps(["base", [base.capacity_steps, base.kl_warmup_epochs, base.latent_dim]]))
    except Exception as error:
        print(json.dumps([type(error).__name__, str(error)]))
"""


def test_the_script_reads_its_flags_and_refuses_bad_ones(tmp_path):
    cases = [
        (["--models=vae,factor_vae", "--values=1,2"], "--values are one model's"),
        (["--models=beta_vae"], "--models must list some of vae,annealed_vae"),
        (["--values=1"], "--values cannot apply without --models"),
        (["--models=vae", "--k=5"], "--k cannot apply with --models"),
        (["--models=vae", "--seed=5"], "--seed cannot apply with --models"),
        (["--latent_dim=5"], "--latent_dim cannot apply to a sweep of"),
        (["--models=vae", "--values=-1"], "'-1' is not a value of --beta"),
        (
            ["--models=vae,annealed_vae", "--capacity_steps=10", "--dataset=mnist"],
            "mnist has no known factors",
        ),
        (["--models=vae", "--dataset=shapes", "--capacity_steps=10"], "none of the sweep's models"),
    ]
    calls = [["main", [*argv, f"--output_dir={tmp_path}/sweep"]] for argv, _ in cases]
    # A model's own flags stay in the base config, for the sweep to apply where they fit.
    calls.append(
        ["base", ["--models=vae,annealed_vae", "--capacity_steps=10", "--kl_warmup_epochs=2"]]
    )
    result = run_python(["-c", SCRIPT_CASES, json.dumps(calls)])
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("[")]
    assert len(outcomes) == len(calls), result.stdout[-3000:]
    for (argv, message), (kind, text) in zip(cases, outcomes):
        assert kind == "UsageError" and message in text, (argv, kind, text)
    assert outcomes[-1] == ["base", [10, 2, vae_tf.TrainConfig().latent_dim]]
    assert not (tmp_path / "sweep").exists()
