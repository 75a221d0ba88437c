"""--time_limit (a wall-clock budget that ends a run at an epoch's end) and --keep_best."""

import errno
import json
import os
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags
from conftest import tiny_config
from test_train_script import ARTIFACTS

import vae_tf
from vae_tf import cli
from vae_tf.callbacks import BestCheckpoint
from vae_tf.callbacks import TimeLimit
from vae_tf.callbacks import TrainingCheckpoint
from vae_tf.callbacks import load_training_state
from vae_tf.callbacks import time_limit
from vae_tf.runs import train
from vae_tf.runs.config import duration_seconds


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("8h", 8 * 3600),
        ("90m", 5400),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("3600s", 3600),
        ("3600", 3600),
        (" 2.5h ", 9000),
        ("1d", 86400),
        (3600, 3600),
        (0.001, 0.001),
    ],
)
def test_time_limits_are_read_in_their_forms(value, seconds):
    assert duration_seconds(value) == pytest.approx(seconds)
    assert vae_tf.TrainConfig(time_limit=value).time_limit_seconds == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value", ["8 hours", "8hours", "0", "0s", "-5", "h", "", "1e4", "8h-", True, float("inf"), -1]
)
def test_bad_time_limits_are_refused_with_the_forms_accepted(value):
    with pytest.raises(ValueError) as error:
        vae_tf.TrainConfig(time_limit=value).validate()
    assert str(error.value) == (
        "time_limit must be a duration greater than 0 such as 8h, 90m, 1h30m or 3600s (units "
        f"d, h, m, s), or a number of seconds such as 3600; got {value!r}."
    )


def _flags(*argv):
    flag_values = flags.FlagValues()
    cli.define_train_flags(flag_values=flag_values)
    flag_values(["train.py", *argv])
    return flag_values


def test_time_limit_and_keep_best_flags():
    config = cli.config_from_flags(_flags("--time_limit=8h"))
    assert (config.time_limit, config.time_limit_seconds, config.keep_best) == ("8h", 28800, None)
    assert config.keeps_best  # on with a time limit
    assert not cli.config_from_flags(_flags("--time_limit=8h", "--nokeep_best")).keeps_best
    assert cli.config_from_flags(_flags("--keep_best")).keeps_best
    assert not vae_tf.TrainConfig().keeps_best  # off by default: the last epoch, as before
    with pytest.raises(flags.Error, match=r"--time_limit must be a duration .* got '8 hours'"):
        _flags("--time_limit=8 hours")
    with pytest.raises(ValueError, match="keep_best=True .* train_on_all .* drop one of them"):
        vae_tf.TrainConfig(keep_best=True, train_on_all=True).validate()


def _limit(seconds, epochs, clock):
    """A `TimeLimit` on a stand-in model, with `clock` (a list) as its time."""
    callback = TimeLimit(seconds, epochs=epochs, started=clock[0])
    callback.set_model(
        types.SimpleNamespace(distribute_strategy=tf.distribute.get_strategy(), stop_training=False)
    )
    return callback


def test_time_limit_stops_at_the_end_of_the_last_epoch_that_fits(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(time_limit, "now", lambda: clock[0])
    limit = _limit(250, epochs=10, clock=clock)
    limit.on_train_begin()
    clock[0] = 100.0
    limit.on_epoch_end(0)  # 100 s spent, the next epoch would end at 200: on
    assert not limit.model.stop_training and limit.stopped_epoch is None
    clock[0] = 200.0
    limit.on_epoch_end(1)  # the next would end at 300, past 250: stop
    assert limit.model.stop_training and limit.stopped_epoch == 2 and limit.elapsed == 200

    # A first epoch longer than the whole budget ends; the last epoch needs no stop.
    clock[0] = 0.0
    limit = _limit(250, epochs=2, clock=clock)
    limit.on_train_begin()
    clock[0] = 400.0
    limit.on_epoch_end(0)
    assert limit.stopped_epoch == 1
    limit = _limit(250, epochs=1, clock=[0.0])
    limit.on_train_begin()
    limit.on_epoch_end(0)
    assert limit.stopped_epoch is None and not limit.model.stop_training


class Tick(keras.callbacks.Callback):
    """Advances the fake clock by 100 s at every epoch's end."""

    def __init__(self, clock):
        super().__init__()
        self.clock = clock

    def on_epoch_end(self, epoch, logs=None):
        self.clock[0] += 100.0


def test_a_stopped_run_is_written_whole_and_a_resume_gets_a_fresh_budget(
    tmp_path, monkeypatch, capsys
):
    clock = [0.0]
    monkeypatch.setattr(time_limit, "now", lambda: clock[0])
    config = tiny_config(tmp_path / "run", epochs=6, time_limit="250s")
    result = train(config, verbose=2, callbacks=[Tick(clock)])
    out = capsys.readouterr().out
    assert "Time limit 250s: stopping after epoch 2 of 6 (3 min 20 s spent" in out
    assert "Stopped by the time limit (250s) after 2 of 6 epochs, in 3 min 20 s." in out
    best = result.training["best_epoch"]
    assert f"Best epoch {best} of 2: val_total_loss " in out
    assert f"The model written (vae.keras, saved_model, figures) is epoch {best}'s; " in out
    run_dir = tmp_path / "run"
    assert ARTIFACTS | {"last.weights.h5"} <= set(os.listdir(run_dir))
    assert not os.path.exists(f"{run_dir}.partial")
    assert len(result.history["total_loss"]) == 2
    training = json.loads((run_dir / "config.json").read_text())["training"]
    assert training == result.training == vae_tf.load_run(str(run_dir)).training
    assert training["stopped_by"] == "time_limit"
    assert (training["epochs_done"], training["epochs"], training["time_limit"]) == (2, 6, "250s")
    assert training["model_weights"] == "best" and training["seconds"] == 200

    # Trained further: the budget counts from the resumption.
    further = train(config, verbose=0, resume=True, callbacks=[Tick(clock)])
    assert len(further.history["total_loss"]) == 4
    assert further.training["stopped_by"] == "time_limit"
    assert further.training["epochs_done"] == 4


def test_a_crash_while_writing_a_stopped_run_writes_it_on_the_rerun(tmp_path, monkeypatch):
    import vae_tf.runs.loop as loop

    # 1 ms: spent in the first epoch, which ends all the same.
    config = tiny_config(tmp_path / "run", epochs=3, time_limit=0.001)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "write_artifacts", crash)
    with pytest.raises(KeyboardInterrupt):
        train(config, verbose=0)
    monkeypatch.undo()
    assert TrainingCheckpoint.latest(str(tmp_path / "run.partial" / "checkpoint"))["epoch"] == 1
    result = train(config, verbose=0)  # writes the run: no epoch more
    assert len(result.history["total_loss"]) == 1
    assert result.training["stopped_by"] == "time_limit"
    assert ARTIFACTS <= set(os.listdir(result.run_dir))


def test_without_validation_the_last_epoch_is_written(tiny_run):
    result = tiny_run(epochs=2, time_limit=0.001, train_on_all=True)
    assert result.training["model_weights"] == "last" and result.training["best_epoch"] is None
    assert "last.weights.h5" not in os.listdir(result.run_dir)


class Sabotage(keras.callbacks.Callback):
    """Makes the model far worse at the start of epoch `at` (1-based); records every epoch's weights.

    The decoder's output bias jumps by 30: every pixel's logit is off by 30
    nats' worth, which the few steps left cannot undo; the loss stays finite.
    """

    def __init__(self, at=3):
        super().__init__()
        self.at = at
        self.weights = {}

    def on_epoch_begin(self, epoch, logs=None):
        if epoch + 1 == self.at:
            bias = self.model.decoder.weights[-1]
            bias.assign(bias + 30.0)

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch + 1] = [w.numpy() for w in self.model.weights]


def _assert_weights(model, expected):
    for got, want in zip(model.weights, expected, strict=True):
        np.testing.assert_array_equal(got.numpy(), want)


def _last_weights(run_dir):
    model = vae_tf.load_run(run_dir).model
    load_training_state(model, os.path.join(run_dir, "last.weights.h5"))
    return model


def test_keep_best_writes_the_best_epoch_through_an_interruption_and_a_resume(tmp_path):
    settings = dict(keep_best=True, checkpoint_steps=2, steps_per_execution=1)
    config = tiny_config(tmp_path / "run", epochs=4, **settings)
    sabotage = Sabotage(at=3)

    class Crash(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if int(self.model.optimizer.iterations) == 17:  # in epoch 4 (5 steps an epoch)
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, verbose=0, callbacks=[sabotage, Crash()])
    checkpoints = tmp_path / "run.partial" / "checkpoint"
    record = json.loads((checkpoints / "best.json").read_text())
    assert record["epoch"] in (1, 2) and (checkpoints / record["weights"]).is_file()

    result = train(config, verbose=0, callbacks=[sabotage])
    history = result.history["val_total_loss"]
    assert len(history) == 4 and min(history[2:]) > 5 * max(history[:2])  # epochs 3-4: far worse
    best = int(np.argmin(history)) + 1
    assert (
        result.training["best_epoch"] == result.training["model_epoch"] == best == record["epoch"]
    )
    assert result.training["model_weights"] == "best"
    _assert_weights(result.model, sabotage.weights[best])
    _assert_weights(vae_tf.load_run(result.run_dir).model, sabotage.weights[best])
    _assert_weights(_last_weights(result.run_dir), sabotage.weights[4])

    # Trained further: it goes on from the last epoch (still far worse), the best stays.
    further = train(
        tiny_config(tmp_path / "run", epochs=5, **settings),
        verbose=0,
        resume=True,
    )
    assert len(further.history["val_total_loss"]) == 5
    assert further.history["val_total_loss"][4] > 5 * max(history[:2])
    assert further.training["model_epoch"] == best
    _assert_weights(further.model, sabotage.weights[best])
    assert not os.path.exists(f"{result.run_dir}.partial")


def test_the_best_epoch_is_kept_whole_or_not_at_all(tmp_path, monkeypatch):
    model = vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", latent_dim=2), seed=1)
    model.compile(optimizer="adam")
    model.optimizer.build(model.trainable_variables)
    best = BestCheckpoint(str(tmp_path))
    assert best.offer(model, 1, 100.0)
    assert not best.offer(model, 2, 100.0)  # a tie keeps the earlier epoch
    assert not best.offer(model, 3, float("nan"))

    def full_disk(self, path, *args, **kwargs):
        open(path, "wb").write(b"\0" * 100)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.Model, "save_weights", full_disk)
    with pytest.raises(OSError, match="No space left"):
        best.offer(model, 4, 50.0)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["best-000001.weights.h5", "best.json"]
    assert BestCheckpoint.read(str(tmp_path))["epoch"] == best.record["epoch"] == 1
    assert best.offer(model, 4, 50.0)
    assert sorted(os.listdir(tmp_path)) == ["best-000004.weights.h5", "best.json"]
    assert BestCheckpoint(str(tmp_path)).record["val_total_loss"] == 50.0

    (tmp_path / "best.json").write_text('{"epoch": 4, "val_')
    with pytest.warns(UserWarning, match=r"best\.json cannot be read .* forgotten"):
        assert BestCheckpoint.read(str(tmp_path)) is None
