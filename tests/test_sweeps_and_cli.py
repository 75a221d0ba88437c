"""Flags shared by the scripts, and sweeps over latent size and beta."""

import csv
import dataclasses
import errno
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from absl import app
from absl import flags
from conftest import REPO
from conftest import run_python

import vae_tf
from vae_tf import cli
from vae_tf.runs import sweeps


def _parsed(*argv, exclude=()):
    flag_values = flags.FlagValues()
    cli.define_train_flags(exclude=exclude, flag_values=flag_values)
    flag_values(["prog", *argv])
    return flag_values


def test_every_config_field_has_a_flag_with_its_default():
    fields = {field.name for field in dataclasses.fields(vae_tf.TrainConfig)}
    assert fields <= set(_parsed())
    assert cli.config_from_flags(_parsed()) == vae_tf.TrainConfig()


def test_flags_become_a_config():
    config = cli.config_from_flags(
        _parsed(
            "--beta=4",
            "--kl_warmup_epochs=10",
            "--free_bits=0.1",
            "--likelihood=gaussian",
            "--sigma=0.2",
            "--z_log_var_clip=8",
            "--jit_compile=false",
            "--binarize",
        )
    )
    assert (config.beta, config.kl_warmup_epochs, config.free_bits) == (4.0, 10, 0.1)
    assert (config.likelihood, config.sigma, config.z_log_var_clip) == ("gaussian", 0.2, 8.0)
    assert config.jit_compile is False and config.binarize


def test_excluded_flags_are_not_defined_and_overrides_apply():
    flag_values = _parsed(exclude=("latent_dim", "beta"))
    assert "latent_dim" not in flag_values and "epochs" in flag_values
    assert cli.config_from_flags(flag_values, latent_dim=7).latent_dim == 7


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--kl_warmup_epochs=3", "--kl_cycles=2"], "Choose one KL schedule"),
        (["--autoencoder", "--beta=2"], "autoencoder has no KL term"),
        (["--autoencoder", "--free_bits=0.5"], "free_bits"),
    ],
)
def test_contradictory_flags_are_a_usage_error(argv, message):
    with pytest.raises(app.UsageError, match=message):
        cli.config_from_flags(_parsed(*argv))


@pytest.mark.parametrize(
    "flag, message",
    [
        ("--kl_cycle_ratio=0", "--kl_cycle_ratio must be in (0, 1]"),
        ("--sigma=0", "--sigma must be > 0"),
        ("--z_log_var_clip=-1", "--z_log_var_clip must be > 0"),
        ("--likelihood=poisson", "flag --likelihood=poisson"),
        ("--free_bits=-1", "flag --free_bits=-1"),
    ],
)
def test_bad_values_are_refused_by_name(flag, message):
    with pytest.raises(flags.Error, match=message.replace("(", r"\(").replace(")", r"\)")):
        _parsed(flag)


BASE = vae_tf.TrainConfig(architecture="mlp", epochs=1, steps_per_epoch=3, batch_size=64)


def test_sweep_trains_evaluates_plots_and_resumes(tmp_path, monkeypatch, judge_cache):
    monkeypatch.setenv("VAE_TF_CACHE", judge_cache)
    output_dir = str(tmp_path / "sweep")
    lines = []
    rows = sweeps.run_sweep(
        BASE,
        latent_dims=(2,),
        betas=(1, 4),
        output_dir=output_dir,
        num_samples=5,
        num_examples=40,
        sample_quality_examples=100,
        judge_epochs=1,
        log=lines.append,
    )
    assert [(row["latent_dim"], row["beta"]) for row in rows] == [(2, 1), (2, 4)]
    # Before each point: which of how many (and, from the second, the time left); then its results.
    assert len(lines) == 4
    assert lines[0].startswith("[1/2] latent   2  beta    1: training and evaluating")
    assert "NLL" in lines[1] and lines[1].startswith("[1/2]")
    assert lines[2].startswith("[2/2]") and lines[2].endswith("s left)")
    for row in rows:
        assert row["elbo"] == pytest.approx(row["reconstruction"] + row["kl"])
        assert 0 <= row["active_units"] <= row["latent_dim"]
        assert os.path.isfile(os.path.join(row["run_dir"], "evaluation.json"))
        # The samples of three training steps are far from the digits.
        assert row["fid"] > 10 and 0 <= row["precision"] <= 1 and 0 <= row["recall"] <= 1
    assert "FID" in lines[1]
    assert sweeps.read_sweep(output_dir) == rows
    assert (tmp_path / "sweep" / "sweep.png").read_bytes()[:4] == b"\x89PNG"

    # Run again: every point is reused, nothing retrains or is measured again.
    monkeypatch.setattr(sweeps, "train", lambda *args, **kwargs: pytest.fail("retrained"))
    monkeypatch.setattr(
        sweeps,
        "sample_quality_run",
        lambda *args, **kwargs: pytest.fail("measured again"),
    )
    again = sweeps.run_sweep(
        BASE, latent_dims=(2,), betas=(1, 4), output_dir=output_dir, judge_epochs=1, log=None
    )
    assert again == rows


def test_a_sweep_of_unlabelled_data_says_there_is_no_judge(tmp_path):
    (x_train, _), (x_test, _) = vae_tf.data.load_mnist()
    path = str(tmp_path / "unlabelled.npz")
    np.savez(path, x_train=x_train[:256], x_test=x_test[:64])
    lines = []
    (row,) = sweeps.run_sweep(
        dataclasses.replace(BASE, dataset=path),
        latent_dims=(2,),
        betas=(1,),
        output_dir=str(tmp_path / "sweep"),
        num_samples=3,
        num_examples=20,
        log=lines.append,
    )
    assert any(
        line.startswith("No sample quality in this sweep:") and "no labels" in line
        for line in lines
    )
    assert np.isnan(row["fid"]) and np.isfinite(row["nll"])
    assert (tmp_path / "sweep" / "sweep.png").is_file()


def test_sweep_refuses_objectives_without_nats(tmp_path):
    for config in (
        dataclasses.replace(BASE, autoencoder=True),
        dataclasses.replace(BASE, likelihood="mse"),
    ):
        with pytest.raises(ValueError, match="needs a VAE"):
            sweeps.run_sweep(config, output_dir=str(tmp_path))


@pytest.mark.slow
def test_sweep_script(tmp_path, judge_cache):
    output_dir = tmp_path / "sweep"
    result = run_python(
        [
            "scripts/sweep.py",
            "--architecture=mlp",
            "--epochs=1",
            "--steps_per_epoch=2",
            "--latent_dims=2",
            "--betas=2",
            "--k=3",
            "--num_examples=20",
            "--kl_warmup_steps=1",
            "--sample_quality_examples=50",
            "--judge_epochs=1",
            f"--output_dir={output_dir}",
        ],
        env={"VAE_TF_CACHE": judge_cache},  # the session's judge: none is trained here
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "latent   2  beta    2" in result.stdout
    with open(output_dir / "sweep.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert np.isfinite(float(row["nll"])) and float(row["fid"]) > 0
    run = vae_tf.runs.load_run(row["run_dir"])
    assert run.model.beta == 2.0
    # --kl_warmup_steps=1 reached the run: weights 0 then 2 over its two steps.
    assert run.history["kl_weight"] == [1.0]
    bad = run_python(["scripts/sweep.py", "--betas=a,b"])
    assert bad.returncode != 0 and "--betas must be a comma-separated list" in bad.stderr


def test_a_comparison_trains_each_value_and_plots_the_curves(tmp_path, monkeypatch, judge_cache):
    monkeypatch.setenv("VAE_TF_CACHE", judge_cache)
    output_dir = str(tmp_path / "warmup")
    base = dataclasses.replace(BASE, epochs=2)
    rows = sweeps.run_comparison(
        base,
        "kl_warmup_epochs",
        [0, 2],
        output_dir,
        num_samples=5,
        num_examples=40,
        sample_quality_examples=100,
        judge_epochs=1,
        log=None,
    )
    assert [(row["setting"], row["value"]) for row in rows] == [
        ("kl_warmup_epochs", 0),
        ("kl_warmup_epochs", 2),
    ]
    for row in rows:
        run = vae_tf.runs.load_run(row["run_dir"])
        assert run.run_dir == os.path.join(output_dir, f"kl_warmup_epochs{row['value']}")
        assert row["fid"] > 0 and row["elbo"] == pytest.approx(row["reconstruction"] + row["kl"])
    # The warm-up reached its run: the KL weight rises over its first two epochs.
    weights = [vae_tf.runs.load_run(row["run_dir"]).history["kl_weight"] for row in rows]
    assert weights[0] == [1.0, 1.0] and weights[1][0] < weights[1][1] <= 1.0
    with open(os.path.join(output_dir, "comparison.csv"), newline="") as f:
        assert [row["value"] for row in csv.DictReader(f)] == ["0", "2"]
    assert (tmp_path / "warmup" / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="not a TrainConfig setting"):
        sweeps.run_comparison(base, "warmup", [0, 1], output_dir, log=None)
    with pytest.raises(ValueError, match="distinct values"):
        sweeps.run_comparison(base, "beta", [1.0, 1.0], output_dir, log=None)


def test_setting_values_are_read_as_their_flags_read_them():
    assert cli.setting_values("kl_warmup_epochs", ["0", "10"]) == [0, 10]
    assert cli.setting_values("beta", ["0.5", "4"]) == [0.5, 4.0]
    assert cli.setting_values("binarize", ["true", "false"]) == [True, False]
    assert cli.setting_values("prior", ["normal", "vamp"]) == ["normal", "vamp"]
    with pytest.raises(app.UsageError, match="--beta must be >= 0"):
        cli.setting_values("beta", ["-1"])
    with pytest.raises(app.UsageError, match="'ten' is not a value of --kl_warmup_epochs"):
        cli.setting_values("kl_warmup_epochs", ["ten"])
    with pytest.raises(app.UsageError, match="--vary must name a setting"):
        cli.setting_values("output_dir", ["x"])


def _run_script(main, monkeypatch, capsys, interrupted="nothing was written"):
    """Runs `main` as `cli.run` runs a script's; returns `(exit status, stderr)`."""
    flag_values = flags.FlagValues()
    flags.DEFINE_bool("verbose", False, "", flag_values=flag_values)
    flag_values(["evaluate.py"])
    monkeypatch.setattr("sys.argv", ["evaluate.py"])
    with pytest.raises(SystemExit) as stop:
        cli.guarded(main, flag_values, interrupted)(["evaluate.py"])
    return stop.value.code, capsys.readouterr().err


def _sigterm(argv):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)  # the handler raises before this ends
    pytest.fail("SIGTERM did not stop the script")


def _ctrl_c(argv):
    raise KeyboardInterrupt


def _full_disk(argv):
    raise OSError(errno.ENOSPC, "No space left on device", "/data/runs/x/samples.png")


def _full_disk_in_tensorflow(argv):
    import tensorflow as tf

    raise tf.errors.ResourceExhaustedError(None, None, "/data/x/variables; No space left on device")


@pytest.mark.parametrize(
    "main, status, line",
    [
        (_ctrl_c, 130, "evaluate.py: Interrupted: nothing was written.\n"),
        (_sigterm, 143, "evaluate.py: Terminated: nothing was written.\n"),
        (
            _full_disk,
            1,
            "evaluate.py: error: No space left on the disk of /data/runs/x: free some "
            "space there.\n",
        ),
    ],
)
def test_scripts_stop_in_one_line_on_ctrl_c_sigterm_and_a_full_disk(
    main, status, line, monkeypatch, capsys
):
    assert _run_script(main, monkeypatch, capsys) == (status, line)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back


def test_a_full_disk_in_tensorflow_names_the_current_folder(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    status, line = _run_script(_full_disk_in_tensorflow, monkeypatch, capsys)
    assert (status, line) == (
        1,
        f"evaluate.py: error: No space left on the disk of {tmp_path}: free some space there.\n",
    )


def test_the_stop_line_names_settings_as_flags(monkeypatch, capsys):
    status, line = _run_script(
        _ctrl_c, monkeypatch, capsys, interrupted="the finished points stay in output_dir"
    )
    assert (status, line) == (
        130,
        "evaluate.py: Interrupted: the finished points stay in --output_dir.\n",
    )


@pytest.mark.slow
def test_ctrl_c_stops_a_running_script_in_one_line():
    process = subprocess.Popen(
        [sys.executable, "scripts/benchmark.py", "--modes=eager", "--steps=400", "--repeats=3"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # not nohup's SIG_IGN
    )
    assert process.stdout.readline().startswith("Machine:")  # past start-up, measuring
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert stderr.endswith("benchmark.py: Interrupted: nothing was written.\n"), stderr[-2000:]
    assert "Traceback" not in stderr


def test_docs_flags_md_is_made_from_the_settings_metadata():
    # python scripts/flags_doc.py rewrites it.
    with open(os.path.join(REPO, "docs", "flags.md")) as f:
        assert f.read() == cli.flags_markdown()
    assert "| `--model` | `vae` | all |" in cli.flags_markdown()
    assert "| `--beta` | 1.0 | vae |" in cli.flags_markdown()
