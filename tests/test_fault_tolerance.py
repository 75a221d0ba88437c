"""Runs that survive crashes: checkpoints, kill-and-resume, NaN stop, run directories."""

import dataclasses
import errno
import glob
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from conftest import REPO
from conftest import tiny_config

import vae_tf
from vae_tf import cli
from vae_tf import data
from vae_tf.callbacks import TrainingCheckpoint
from vae_tf.runs import TrainConfig
from vae_tf.runs import default_output_dir
from vae_tf.runs import train

# 6 epochs of 20 steps, a checkpoint every 7 steps and at every epoch's end:
# room for three signals at random steps, each before step SIGNAL_BEFORE[i] (and
# a few steps later), so that the last one still leaves epochs to resume.
SIGNAL_BEFORE = (30, 60, 80)
RUN_FLAGS = [
    "--latent_dim=2",
    "--epochs=6",
    "--batch_size=32",
    "--checkpoint_steps=7",
    "--deterministic",
    "--seed=5",
]


def _digits(tmp_path):
    """640 training and 64 test digits as an .npz dataset: small runs, quick epochs."""
    path = tmp_path / "digits.npz"
    if not path.exists():
        (x_train, y_train), (x_test, y_test) = data.load_mnist()
        np.savez(
            path,
            x_train=x_train[:640],
            y_train=y_train[:640],
            x_test=x_test[:64],
            y_test=y_test[:64],
        )
    return str(path)


def _train_script(tmp_path, output_dir):
    return [
        sys.executable,
        "scripts/train.py",
        *RUN_FLAGS,
        f"--dataset={_digits(tmp_path)}",
        f"--output_dir={output_dir}",
    ]


def _weights(run_dir):
    model = keras.saving.load_model(os.path.join(run_dir, "vae.keras"))
    return [w.numpy() for w in model.weights]


def _signal_after_checkpoint(command, checkpoints, after_step, signals, rng):
    """Starts `command`, waits for a checkpoint past `after_step`, then sends `signals` soon after.

    Returns `(returncode, stdout, stderr)`.
    """
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A suite started in the background (`nohup ... &`) ignores SIGINT, and so would
        # its children.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        latest = TrainingCheckpoint.latest(checkpoints)
        if latest and latest["step"] > after_step:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be signalled"
    # A few steps (about 25 ms each) later: mid-epoch or an epoch's end, never past the
    # last epoch (a wait of seconds could reach it on a quiet machine).
    time.sleep(rng.uniform(0.0, 0.1))
    for number in signals:
        process.send_signal(number)
        time.sleep(0.05)
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr


@pytest.mark.slow
def test_sigint_sigterm_and_a_double_ctrl_c_resume_to_the_uninterrupted_weights(tmp_path):
    whole = subprocess.run(
        _train_script(tmp_path, tmp_path / "whole"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert whole.returncode == 0, whole.stderr[-3000:]

    run_dir = tmp_path / "stopped"
    command = _train_script(tmp_path, run_dir)
    checkpoints = os.path.join(f"{run_dir}.partial", "checkpoint")
    rng = random.Random()
    step = 0
    stopped = re.compile(
        r"train\.py: (Interrupted|Terminated) (?:in epoch (\d) at step ([\d,]+)|at the end "
        r"of epoch (\d) \(step ([\d,]+)\)): saved a checkpoint in (\S+); run the same "
        r"command to resume\.\n\Z"
    )
    for number, status, name, before in [
        (signal.SIGINT, 130, "Interrupted", SIGNAL_BEFORE[0]),
        (signal.SIGTERM, 143, "Terminated", SIGNAL_BEFORE[1]),
    ]:
        returncode, stdout, stderr = _signal_after_checkpoint(
            command, checkpoints, rng.randint(step, max(step, before)), [number], rng
        )
        assert returncode == status, stderr[-3000:]
        assert "Traceback" not in stderr
        match = stopped.search(stderr)
        assert match, stderr[-1000:]
        assert match[1] == name and match[6] == checkpoints
        latest = TrainingCheckpoint.latest(checkpoints)
        epoch, at = (int(match[2]), match[3]) if match[2] else (int(match[4]), match[5])
        assert latest["step"] == int(at.replace(",", "")) > step
        # "in epoch 3" is the epoch under way; "at the end of epoch 3", three done.
        assert latest["epoch"] == (epoch - 1 if match[2] else epoch)
        assert latest["batch"] == (latest["step"] - 20 * latest["epoch"])
        assert not run_dir.exists()  # nothing that looks finished
        step = latest["step"]
        if number == signal.SIGTERM:
            assert f"Resuming {run_dir}:" in stdout

    # A second Ctrl-C ends the process at once; the checkpoints already written stay whole.
    returncode, _, stderr = _signal_after_checkpoint(
        command,
        checkpoints,
        rng.randint(step, max(step, SIGNAL_BEFORE[2])),
        [signal.SIGINT, signal.SIGINT],
        rng,
    )
    assert returncode in (-signal.SIGINT, 130), stderr[-3000:]
    assert "Traceback" not in stderr

    resumed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resuming {run_dir}:" in resumed.stdout
    for got, expected in zip(_weights(run_dir), _weights(tmp_path / "whole")):
        np.testing.assert_array_equal(got, expected)
    history = vae_tf.runs.read_history(run_dir / "history.csv")
    assert len(history["total_loss"]) == 6
    assert not os.path.exists(f"{run_dir}.partial")
    assert "checkpoint" not in os.listdir(run_dir)


def _config(tmp_path, output_dir=None, **changes):
    """The conv on the digits, 2 steps of 16 an epoch, in `output_dir` (default: tmp_path/run)."""
    settings = dict(
        architecture="conv",
        steps_per_epoch=2,
        batch_size=16,
        steps_per_execution=1,
        dataset=_digits(tmp_path),
    )
    return tiny_config(output_dir or tmp_path / "run", **{**settings, **changes})


def _interrupt(config, at_step):
    """Runs `train(config)` until training step `at_step` begins, as a crash would stop it."""

    class Crash(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if int(self.model.optimizer.iterations) == at_step - 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, verbose=0, callbacks=[Crash()])


@pytest.mark.parametrize(
    "variant",
    [
        {},
        # The IWAE bound's K codes per image and the VampPrior's pseudo-inputs
        # resume exactly too.
        dict(objective="iwae", num_samples=3, prior="vamp", prior_components=5),
    ],
)
def test_mid_epoch_checkpoint_resumes_exactly(tmp_path, variant):
    whole = train(
        _config(
            tmp_path,
            epochs=2,
            steps_per_epoch=4,
            output_dir=str(tmp_path / "a"),
            deterministic=True,
            **variant,
        ),
        verbose=0,
    )
    config = _config(
        tmp_path,
        epochs=2,
        steps_per_epoch=4,
        checkpoint_steps=2,
        output_dir=str(tmp_path / "b"),
        deterministic=True,
        **variant,
    )
    _interrupt(config, at_step=8)
    position = TrainingCheckpoint.latest(str(tmp_path / "b.partial" / "checkpoint"))
    assert (position["epoch"], position["batch"], position["step"]) == (1, 2, 6)
    resumed = train(config, verbose=0)
    for got, expected in zip(resumed.model.weights, whole.model.weights):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    class PoisonedLoss(keras.callbacks.Callback):
        """Reports a NaN loss at step 5 (the run's callbacks see it after this one)."""

        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations) == 5:
                logs["loss"] = float("nan")

    with pytest.raises(FloatingPointError) as error:
        train(_config(tmp_path, epochs=3), verbose=0, callbacks=[PoisonedLoss()])
    message = str(error.value)
    checkpoints = str(tmp_path / "run.partial" / "checkpoint")
    assert message.startswith("The training loss became nan in epoch 3 (by training step 5).")
    assert f"(2 epochs and 0 steps done) is kept in {checkpoints}" in message
    # The library's words; scripts print them as --learning_rate and --overwrite.
    assert "learning_rate=" in message and "overwrite=True" in message
    assert "--learning_rate" in cli.flag_words(message) and "--overwrite" in cli.flag_words(message)
    assert TrainingCheckpoint.latest(checkpoints)["step"] == 4
    assert not (tmp_path / "run").exists()
    resumed = train(_config(tmp_path, epochs=3), verbose=0)
    assert len(resumed.history["total_loss"]) == 3


def test_real_nan_loss_leaves_a_finished_run_untouched(tmp_path):
    train(_config(tmp_path, epochs=1), verbose=0)
    before = (tmp_path / "run" / "history.csv").read_text()
    # The finished run trained further at an absurd rate: the loss blows up.
    with pytest.raises(FloatingPointError, match="The training loss became (nan|inf)"):
        train(_config(tmp_path, epochs=3, learning_rate=1e12), verbose=0, resume=True)
    assert (tmp_path / "run" / "history.csv").read_text() == before
    assert (tmp_path / "run" / "vae.keras").exists()


def test_finished_run_trains_further_with_resume(tmp_path):
    first = train(_config(tmp_path, epochs=1, deterministic=True), verbose=0)
    del first
    further = train(_config(tmp_path, epochs=2, deterministic=True), verbose=0, resume=True)
    whole = train(
        _config(tmp_path, epochs=2, deterministic=True, output_dir=str(tmp_path / "whole")),
        verbose=0,
    )
    assert len(further.history["total_loss"]) == 2
    for got, expected in zip(further.model.weights, whole.model.weights):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    with pytest.raises(ValueError, match="already has 2 epochs"):
        train(_config(tmp_path, epochs=2, deterministic=True), verbose=0, resume=True)
    assert not (tmp_path / "run.partial").exists()


def test_output_dir_is_never_clobbered(tmp_path):
    train(_config(tmp_path), verbose=0)
    with pytest.raises(FileExistsError, match="resume=True .* overwrite=True") as error:
        train(_config(tmp_path), verbose=0)
    assert re.search("--resume .* --overwrite", cli.flag_words(str(error.value)))
    (tmp_path / "file").write_text("mine")
    with pytest.raises(FileExistsError, match="is a file"):
        train(_config(tmp_path, output_dir=str(tmp_path / "file")), verbose=0)
    assert (tmp_path / "file").read_text() == "mine"
    with pytest.raises(FileNotFoundError, match="Nothing to resume"):
        train(_config(tmp_path, output_dir=str(tmp_path / "new")), verbose=0, resume=True)
    replaced = train(_config(tmp_path, latent_dim=3), verbose=0, overwrite=True)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["latent_dim"] == 3
    assert replaced.model.latent_dim == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digits.npz", "file", "run"]


def test_interrupted_run_with_other_settings_is_refused_not_resumed(tmp_path):
    _interrupt(_config(tmp_path, epochs=2), at_step=4)
    with pytest.raises(FileExistsError, match=r"other settings \(latent_dim: 2 -> 3\)"):
        train(_config(tmp_path, latent_dim=3, epochs=2), verbose=0)
    assert TrainingCheckpoint.latest(str(tmp_path / "run.partial" / "checkpoint"))["epoch"] == 1
    fresh = train(_config(tmp_path, latent_dim=3, epochs=2), verbose=0, overwrite=True)
    assert len(fresh.history["total_loss"]) == 2 and fresh.model.latent_dim == 3


def test_default_output_dir_finds_the_interrupted_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = dataclasses.replace(_config(tmp_path), output_dir=None)
    staging = tmp_path / "runs" / "conv_latent2_20260101-000000.partial"
    os.makedirs(staging / "checkpoint")
    settings = {**config.settings(), "output_dir": "elsewhere"}
    (staging / "config.json").write_text(json.dumps(settings))
    assert default_output_dir(config).startswith(os.path.join("runs", "conv_latent2_2"))
    assert "20260101" not in default_output_dir(config)  # no checkpoint: nothing to resume
    for name in ("step-000000000002.weights.h5", "step-000000000002.json"):
        (staging / "checkpoint" / name).write_text('{"epoch": 1, "batch": 0, "step": 2}')
    assert default_output_dir(config) == os.path.join("runs", "conv_latent2_20260101-000000")
    assert "20260101" not in default_output_dir(config, resume=False)
    other = TrainConfig(**{**config.settings(), "beta": 2.0})
    assert "20260101" not in default_output_dir(other)


def test_a_run_being_written_is_locked(tmp_path):
    from vae_tf.runs import RunDirectory

    first = RunDirectory(str(tmp_path / "run"), {"a": 1})
    assert first.open() is None
    with pytest.raises(FileExistsError, match="another training process"):
        RunDirectory(str(tmp_path / "run"), {"a": 1}).open()
    first.close()
    assert RunDirectory(str(tmp_path / "run"), {"a": 1}).open() is None


def _truncate(path, keep=0.5):
    with open(path, "rb") as f:
        content = f.read()
    with open(path, "wb") as f:
        f.write(content[: int(len(content) * keep)])


def test_checkpoints_appear_whole_and_a_damaged_one_falls_back_to_the_one_before(
    tmp_path, conv_vae
):
    conv_vae.compile(optimizer="adam")
    images = data.load_mnist()[1][0][:64]
    checkpoint = TrainingCheckpoint(str(tmp_path), save_freq=1)
    conv_vae.fit(images, batch_size=16, epochs=2, callbacks=[checkpoint], verbose=0)
    # The newest pair and the one before it.
    assert sorted(os.listdir(tmp_path)) == [
        "step-000000000007.json",
        "step-000000000007.weights.h5",
        "step-000000000008.json",
        "step-000000000008.weights.h5",
    ]
    assert TrainingCheckpoint.latest(str(tmp_path))["epoch"] == 2
    trained = [w.numpy() for w in conv_vae.weights]

    def restored():
        encoder, decoder = vae_tf.build_encoder_decoder("conv", latent_dim=2)
        model = vae_tf.VAE(encoder, decoder)
        model.compile(optimizer="adam")
        return model, TrainingCheckpoint(str(tmp_path), restore=False).restore(model)

    model, position = restored()
    assert position == {"epoch": 2, "batch": 0, "step": 8}
    for got, expected in zip(model.weights, trained):
        np.testing.assert_array_equal(got.numpy(), expected)

    newest = str(tmp_path / "step-000000000008.weights.h5")
    _truncate(newest)
    with pytest.warns(
        UserWarning,
        match=re.escape(newest) + r" is damaged \(.*\).*"
        "Resuming from the checkpoint before it instead",
    ):
        model, position = restored()
    assert position == {"epoch": 1, "batch": 3, "step": 7}
    assert int(model.optimizer.iterations.numpy()) == 7
    assert TrainingCheckpoint.latest(str(tmp_path))["step"] == 7  # the damaged one set aside

    _truncate(str(tmp_path / "step-000000000007.weights.h5"))
    with pytest.raises(vae_tf.DamagedFileError) as error:  # the only one left
        restored()
    assert re.match(
        re.escape(str(tmp_path / "step-000000000007.weights.h5")) + r" is damaged "
        r"\(.+\): no earlier checkpoint can be read either; delete .* to start "
        r"afresh, or pass overwrite=True\.$",
        str(error.value),
    )

    # A checkpoint whose JSON was never written, or is damaged, does not count.
    (tmp_path / "step-000000000007.json").write_text('{"epoch": 1, "ba')
    with pytest.warns(UserWarning, match=r"step-000000000007\.json is damaged \(not valid JSON"):
        assert TrainingCheckpoint.latest(str(tmp_path)) is None
    assert not glob.glob(str(tmp_path / "*partial*"))


def test_sampler_noise_state_is_saved_with_the_weights(tmp_path, conv_vae):
    conv_vae.compile(optimizer="adam")
    images = data.load_mnist()[1][0][:32]
    conv_vae.fit(images, batch_size=16, epochs=1, verbose=0)
    state = conv_vae.sampler.seed_generator.state.numpy()
    conv_vae.save_weights(str(tmp_path / "w.weights.h5"))
    encoder, decoder = vae_tf.build_encoder_decoder("conv", latent_dim=2)
    fresh = vae_tf.VAE(encoder, decoder, seed=3)
    fresh.compile(optimizer="adam")
    fresh.optimizer.build(fresh.trainable_variables)
    assert not np.array_equal(fresh.sampler.seed_generator.state.numpy(), state)
    fresh.load_weights(str(tmp_path / "w.weights.h5"))
    np.testing.assert_array_equal(fresh.sampler.seed_generator.state.numpy(), state)


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_at_a_checkpoint_keeps_the_one_before_and_says_where(tmp_path, monkeypatch):
    config = _config(tmp_path, epochs=3, checkpoint_steps=1)
    save_weights = keras.Model.save_weights
    calls = []

    def fills_up(model, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:  # the third checkpoint finds the disk full, part-way
            open(path, "wb").write(b"\0" * 100)
            _no_space()
        return save_weights(model, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", fills_up)
    with pytest.raises(vae_tf.DiskFullError) as error:
        train(config, verbose=0)
    staging = tmp_path / "run.partial"
    checkpoints = staging / "checkpoint"
    assert str(error.value) == (
        f"No space left on the disk of {staging}: free some space there; the last whole "
        f"checkpoint (1 epoch and 0 steps done) is kept in {checkpoints}: then run the same "
        "command to resume."
    )
    assert sorted(os.listdir(checkpoints)) == [
        "step-000000000001.json",
        "step-000000000001.weights.h5",
        "step-000000000002.json",
        "step-000000000002.weights.h5",
    ]
    monkeypatch.undo()
    resumed = train(config, verbose=0)
    assert int(resumed.model.optimizer.iterations.numpy()) == 6


@pytest.mark.parametrize(
    "write",
    [
        "model",
        "saved_model",
        "figure",
    ],
)
def test_a_full_disk_while_writing_the_run_leaves_the_finished_run_untouched(
    tmp_path, monkeypatch, write
):
    import matplotlib.figure
    import tensorflow as tf

    train(_config(tmp_path, epochs=1), verbose=0)
    run_dir = tmp_path / "run"
    before = {name: (run_dir / name).read_bytes() for name in ("history.csv", "vae.keras")}

    def tensorflow_no_space(*args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "x; No space left on device")

    owner, name, replacement = {
        "model": (keras.Model, "save", _no_space),
        # Keras' ExportArchive writes with tf.saved_model.save.
        "saved_model": (tf.saved_model, "save", tensorflow_no_space),
        "figure": (matplotlib.figure.Figure, "savefig", _no_space),
    }[write]
    monkeypatch.setattr(owner, name, replacement)
    with pytest.raises(
        vae_tf.DiskFullError,
        match=re.escape(
            f"No space left on the disk of {run_dir}.partial: free some space there; the last whole "
            f"checkpoint (2 epochs and 0 steps done) is kept in {run_dir}.partial"
        ),
    ):
        train(_config(tmp_path, epochs=2), verbose=0, resume=True)
    for name, content in before.items():
        assert (run_dir / name).read_bytes() == content
    monkeypatch.undo()
    # The training is checkpointed: the same call only writes the run's files.
    further = train(_config(tmp_path, epochs=2), verbose=0, resume=True)
    assert len(further.history["total_loss"]) == 2
    assert (run_dir / "saved_model" / "saved_model.pb").is_file()


def test_a_signal_stops_fit_at_that_step_with_a_checkpoint_there(
    tmp_path,
    conv_vae,
    ctrl_c_raises,
):
    from vae_tf.callbacks import StopOnSignal
    from vae_tf.utils.signals import SignalCatcher

    class SignalAtStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations) == 6:
                os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, to this process

    conv_vae.compile(optimizer="adam")
    images = data.load_mnist()[1][0][:64]
    checkpoint = TrainingCheckpoint(str(tmp_path))  # per epoch only
    with SignalCatcher() as catcher, pytest.raises(vae_tf.TrainingInterrupted) as stop:
        conv_vae.fit(
            images,
            batch_size=16,
            epochs=3,
            verbose=0,
            callbacks=[SignalAtStep(), checkpoint, StopOnSignal(catcher, checkpoint)],
        )
    assert str(stop.value) == (
        f"Interrupted in epoch 2 at step 6: saved a checkpoint in "
        f"{tmp_path}; run the same command to resume."
    )
    assert stop.value.exit_status == 130 and isinstance(stop.value, KeyboardInterrupt)
    assert stop.value.position == {"epoch": 1, "batch": 2, "step": 6}
    assert TrainingCheckpoint.latest(str(tmp_path))["step"] == 6
    # The handlers are put back: Ctrl-C raises KeyboardInterrupt again.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
