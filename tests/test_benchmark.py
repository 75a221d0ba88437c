"""The speed paths: several steps per call, the benchmark module and script."""

import dataclasses
import importlib.util

import keras
import numpy as np
import pytest
from absl import flags
from conftest import run_python

import vae_tf
from benchmarks import benchmark
from vae_tf import cli
from vae_tf.runs import TrainConfig
from vae_tf.runs import build_model


def _trained_weights(x, steps_per_execution):
    keras.utils.set_random_seed(0)
    model = build_model(
        TrainConfig(architecture="mlp", seed=0, steps_per_execution=steps_per_execution)
    )
    assert model.steps_per_execution == steps_per_execution
    history = model.fit(x, epochs=2, batch_size=128, shuffle=False, verbose=0).history
    return history, [weight.numpy() for weight in model.weights]


def test_steps_per_execution_changes_nothing_but_speed(mnist_small):
    (x, _), _ = mnist_small
    history_one, weights_one = _trained_weights(x[:640], 1)
    history_fused, weights_fused = _trained_weights(x[:640], 3)  # 5 steps: calls of 3 and 2
    for key, values in history_one.items():
        np.testing.assert_allclose(history_fused[key], values, rtol=1e-5, err_msg=key)
    for one, fused in zip(weights_one, weights_fused):
        np.testing.assert_allclose(fused, one, rtol=1e-4, atol=1e-6)


def test_calls_never_overrun_an_epoch_and_kl_schedules_keep_them():
    def steps_per_call(**settings):
        return build_model(TrainConfig(architecture="mlp", **settings)).steps_per_execution

    assert TrainConfig().steps_per_execution == steps_per_call() == 10
    # A KL schedule feeds every step its weight: no need for one step per call.
    assert steps_per_call(kl_warmup_steps=5) == 10
    # Calls tile shortened epochs (test_short_epochs_never_run_out_of_data runs one).
    assert steps_per_call(steps_per_epoch=2) == 2
    assert steps_per_call(steps_per_epoch=25) == 5
    assert steps_per_call(steps_per_epoch=7) == 7
    assert steps_per_call(steps_per_epoch=13) == 1
    assert steps_per_call(steps_per_epoch=13, steps_per_execution=20) == 13
    # Two steps in one call of 4: the warm-up's weights 0 and 1, each step its own.
    model = build_model(TrainConfig(architecture="mlp", steps_per_execution=4))
    history = model.fit(
        np.zeros((8, 28, 28, 1), "float32"),
        batch_size=4,
        verbose=0,
        callbacks=[vae_tf.callbacks.KLWarmup(1, unit="steps")],
    ).history
    assert history["kl_weight"] == [pytest.approx(0.5)]


def test_measure_training_times_every_mode_in_turns(mnist_small):
    (x, _), _ = mnist_small
    log = []
    results = benchmark.measure_training(
        ["eager", "graph", "steps_per_execution", "mixed_precision"],
        architecture="mlp",
        latent_dim=2,
        batch_size=64,
        steps=4,
        repeats=2,
        steps_per_execution=2,
        images=x,
        log=log.append,
    )
    assert [result.mode for result in results[:3]] == ["eager", "graph", "steps_per_execution"]
    for result in results[:3]:
        assert len(result.seconds) == 2 and result.images_per_second > 0
        assert result.images_per_second == pytest.approx(4 * 64 / np.median(result.seconds))
    assert "2 steps per call" in results[2].setting
    # Turns: round 1 of every mode before round 2 of any.
    rounds = [line.split(":")[0] for line in log if line.startswith("round")]
    assert rounds.index("round 2/2") >= 3
    # The ceiling is timed in the same turns, last.
    assert results[-1].mode == benchmark.CEILING and len(results[-1].seconds) == 2
    table = benchmark.training_table(results)
    assert table.splitlines()[0] == "| mode | setting | images/s | x eager | of the ceiling |"
    assert "| eager | run_eagerly=True (the tutorial's mode) |" in table
    assert "| 1.00 |" in table
    default, ceiling = results[2].images_per_second, results[-1].images_per_second
    assert f"| {default:,.0f} | " in table and f"| {default / ceiling:.0%} |" in table
    first, second = benchmark.summary(results).splitlines()
    assert first.startswith("Fastest Keras mode: ") and benchmark.CEILING not in first
    assert second.startswith("train.py's mode (steps_per_execution, float32): ")
    assert f"{default / ceiling:.0%} of the networks alone" in second
    with pytest.raises(ValueError, match="Unknown mode"):
        benchmark.measure_training(["turbo"], images=x)
    with pytest.raises(ValueError, match=r"steps \(5\) must be a multiple of steps_per_exec"):
        benchmark.measure_training(["steps_per_execution"], steps=5, images=x)


def test_modes_that_cannot_run_here_are_skipped_with_the_reason(mnist_small, monkeypatch):
    (x, _), _ = mnist_small
    monkeypatch.setattr(benchmark, "mixed_precision_policy", lambda: None)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "torch" else find_spec(name)
    )
    results = benchmark.measure_training(
        ["graph", "mixed_precision", "pytorch"],
        architecture="mlp",
        batch_size=32,
        steps=2,
        repeats=1,
        images=x,
    )
    assert results[1].images_per_second is None and "bfloat16 CPU" in results[1].note
    assert results[2].images_per_second is None and "torch is not installed" in results[2].note
    table = benchmark.training_table(results)
    assert "| pytorch | PyTorch | skipped: torch is not installed" in table
    assert benchmark.summary(results).startswith("Fastest Keras mode: graph")


def test_mixed_precision_policy_matches_the_hardware(monkeypatch):
    monkeypatch.setattr(benchmark, "_cpu_has_bfloat16", lambda: True)
    assert benchmark.mixed_precision_policy() == "mixed_bfloat16"
    monkeypatch.setattr(benchmark, "_cpu_has_bfloat16", lambda: False)
    assert benchmark.mixed_precision_policy() is None
    assert "TensorFlow" in benchmark.describe_machine()


@pytest.mark.skipif(not importlib.util.find_spec("torch"), reason="torch is not installed")
@pytest.mark.parametrize("architecture", ["conv", "mlp"])
def test_the_pytorch_reference_is_the_same_model(architecture, mnist_small):
    from benchmarks import torch_reference

    encoder, decoder = vae_tf.build_encoder_decoder(architecture, 2)
    torch_model = torch_reference.MODELS[architecture](2, (28, 28, 1))
    assert sum(p.numel() for p in torch_model.parameters()) == (
        encoder.count_params() + decoder.count_params()
    )
    (x, _), _ = mnist_small
    run = torch_reference.make_runner(x, architecture, 2, batch_size=32)
    assert run(2) > 0


def test_networks_pipeline_and_latent_grid_timings():
    model = build_model(TrainConfig(architecture="mlp"))
    single, batched = benchmark.latent_grid_seconds(model, grid_size=3)
    assert single > 0 and batched > 0
    with pytest.raises(ValueError, match="2-D latent space"):
        benchmark.latent_grid_seconds(build_model(TrainConfig(architecture="mlp", latent_dim=3)))
    assert benchmark.networks_images_per_second("mlp", 2, batch_size=16, steps=3) > 0
    assert (
        benchmark.pipeline_images_per_second(
            np.zeros((256, 28, 28, 1), "float32"), batch_size=64, steps=5
        )
        > 0
    )


def test_variants_are_read_as_train_flags_and_checked_by_the_registry():
    variants = benchmark.parse_variants(
        "posterior=iaf, flow_steps=4; prior=vamp;stochastic_layers=2,architecture=mlp;"
        "beta=2.5,seed=None,conditional=true,jit_compile=false;"
    )
    assert variants == [
        {"posterior": "iaf", "flow_steps": 4},
        {"prior": "vamp"},
        {"stochastic_layers": 2, "architecture": "mlp"},
        {"beta": 2.5, "seed": None, "conditional": True, "jit_compile": False},
    ]
    assert benchmark.describe_variant(variants[0]) == "posterior=iaf, flow_steps=4"
    for text, message in [
        (
            "prior=vamp;flow_step=4",
            r"variant 2 \(flow_step=4\): unknown setting 'flow_step' "
            r"\(did you mean flow_steps\?\): .*docs/flags.md",
        ),
        ("latent=3", "did you mean latent_dim"),
        ("posterior=maf", "'maf' is not a value of --posterior; choose from gaussian, planar"),
        ("flow_steps=0", "flow_steps must be None or a positive integer"),
        ("beta=x", "'x' is not a value of --beta"),
        ("prior", "'prior' is not name=value"),
        ("prior=vamp,prior=mog", "prior is given twice"),
        ("batch_size=64", "a setting of the data or the run"),
        (" ; ", "No variant in"),
    ]:
        with pytest.raises(ValueError, match=message):
            benchmark.parse_variants(text)
    # A combination the registry refuses: its own message, before anything is built.
    with pytest.raises(ValueError) as refused:
        TrainConfig(posterior="iaf", prior="vamp").validate()
    with pytest.raises(ValueError) as error:
        benchmark.variant_configs([{"prior": "mog"}, {"posterior": "iaf", "prior": "vamp"}])
    assert str(error.value) == f"variant (posterior=iaf, prior=vamp): {refused.value}"
    base, mog = benchmark.variant_configs([{"prior": "mog"}], "mlp", 3, batch_size=16, steps=20)
    assert (mog.prior, mog.architecture, mog.latent_dim, mog.batch_size) == ("mog", "mlp", 3, 16)
    assert base.prior == "normal"


def test_the_variant_flags_are_train_flags():
    names = benchmark.variant_flag_names()
    assert (
        {"posterior", "flow_steps", "prior", "model"} <= set(names) <= set(benchmark.VARIANT_FLAGS)
    )
    assert set(names) <= {field.name for field in dataclasses.fields(TrainConfig)}
    flag_values = flags.FlagValues()
    benchmark.define_variant_flags(flag_values)
    assert sorted(flag_values) == sorted(names)
    assert flag_values["posterior"].help.endswith(cli.flag_words(TrainConfig.describe("posterior")))
    flag_values(["benchmark.py", "--posterior=iaf", "--flow_steps=4"])
    assert benchmark.flag_variant(flag_values) == {"posterior": "iaf", "flow_steps": 4}
    with pytest.raises(flags.IllegalFlagValueError, match="positive integer"):
        flag_values(["benchmark.py", "--flow_steps=0"])
    assert benchmark.flag_variant(flags.FlagValues()) == {}


def test_measure_variants_times_each_beside_the_plain_vae(mnist_small):
    (x, y), _ = mnist_small
    log = []
    results = benchmark.measure_variants(
        # beta_tcvae's step needs the dataset's size.
        [{"posterior": "iaf", "flow_steps": 2}, {"model": "beta_tcvae"}],
        architecture="mlp",
        latent_dim=2,
        batch_size=32,
        steps=2,
        repeats=1,
        images=x,
        labels=y,
        log=log.append,
    )
    assert [result.name for result in results] == [
        "plain VAE",
        "posterior=iaf, flow_steps=2",
        "model=beta_tcvae",
    ]
    for result in results:
        assert len(result.seconds) == len(result.cpu_seconds) == 1
        assert result.images_per_second > 0 and result.cpu_seconds[0] > 0
        assert result.steps_per_execution == 2 and result.parameters > 0
    assert results[0].cost == results[0].cpu_cost == 1.0
    assert results[1].parameters > results[0].parameters  # the flow's MADE steps
    table = benchmark.variants_table(results).splitlines()
    assert table[0] == (
        "| variant | images/s | step time x plain VAE | CPU time x plain VAE | parameters |"
    )
    assert len(table) == 2 + 3
    assert table[2].startswith("| plain VAE | ") and "| 1.00x | 1.00x | 631,188 |" in table[2]
    assert table[3].startswith("| posterior=iaf, flow_steps=2 | ")
    assert [line.split(":")[0] for line in log][-3:] == ["round 1/1"] * 3
    with pytest.raises(ValueError, match="needs labels"):
        benchmark.measure_variants([{"conditional": True}], "mlp", steps=1, repeats=1, images=x)


@pytest.mark.slow
def test_benchmark_script_prints_the_table():
    result = run_python(
        [
            "scripts/benchmark.py",
            "--architecture=mlp",
            "--steps=2",
            "--repeats=1",
            "--modes=eager,graph",
            "--grid_size=2",
        ]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| mode | setting | images/s | x eager |" in result.stdout
    assert "| graph | tf.function, 1 step per call |" in result.stdout
    assert "Fastest Keras mode: graph" in result.stdout
    assert "Encoder and decoder alone, forward and backward in float32:" in result.stdout
    assert "Input pipeline alone:" in result.stdout
    assert "Latent grid 2x2: 4 predict calls" in result.stdout
    bad = run_python(["scripts/benchmark.py", "--modes=eager,warp"])
    assert bad.returncode != 0 and "Unknown --modes ['warp']" in bad.stderr
    refused = run_python(["scripts/benchmark.py", "--posterior=iaf", "--prior=vamp"])
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "benchmark.py: error: variant (--prior=vamp, --posterior=iaf): prior 'vamp' does " in (
        refused.stderr
    )


def test_profile_parts_follow_the_op_names_keras_gives():
    from benchmarks.step_profile import OTHER
    from benchmarks.step_profile import step_part

    loop = "while/body/_1/while/cond/then/_327/while/cond/StatefulPartitionedCall/"
    names = {
        loop + "gradient_tape/decoder_1/conv2d_transpose_1/conv_transpose/Conv2DBackpropFilter": (
            "networks, backward"
        ),
        loop + "decoder_1/conv2d_transpose_1/conv_transpose": "networks, forward",
        "StatefulPartitionedCall/encoder_3/dense_1/Relu": "networks, forward",
        loop + "adam/AssignSubVariableOp_4": "optimizer",
        loop + "ResourceApplyAdam_2": "optimizer",
        loop + "fused_adam/Pow": "optimizer",
        loop + "fused_adam_1/Cast_3": "optimizer",
        loop + "gradient_tape/logistic_loss/mul/Mul": "loss and objective, backward",
        loop + "logistic_loss/Log1p": OTHER,
        loop + "Softplus": OTHER,
        loop + "stateless_random_normal/StatelessRandomNormalV2": "noise",
        "Iterator::Root::ForeverRepeat[0]::Prefetch": "input pipeline",
    }
    for name, part in names.items():
        assert step_part(name) == part, name
    assert step_part("FlatMap", op_type="Dataset") == "input pipeline"


def test_epoch_times_are_read_from_each_revisions_train_py(tmp_path):
    from benchmarks import epochs

    # A revision's tree, as git gives it.
    tree = tmp_path / "tree"
    commit = epochs.revision_tree("HEAD", str(tree))
    assert (tree / "scripts" / "train.py").exists() and (tree / "vae_tf" / "__init__.py").exists()
    assert len(commit) >= 7
    # A stand-in train.py that writes two epochs, then would take long (the
    # figures): it is stopped once its history holds them.
    fake = tmp_path / "fake"
    (fake / "scripts").mkdir(parents=True)
    (fake / "scripts" / "train.py").write_text(
        "import sys, os, time\n"
        "out = [a.split('=', 1)[1] for a in sys.argv if a.startswith('--output_dir=')][0]\n"
        "os.makedirs(out + '.partial')\n"
        "with open(os.path.join(out + '.partial', 'history.csv'), 'w') as f:\n"
        "    f.write('epoch,epoch_seconds\\n0,3.5\\n1,2.25\\n')\n"
        "time.sleep(600)\n"
    )
    seconds = epochs.epoch_seconds(str(fake), ["--latent_dim=2"], 2, str(tmp_path / "run"))
    assert seconds == [3.5, 2.25]
    times = {"aaaa": [4.0, 4.2], "bbbb": [3.0, 3.1]}
    table = epochs.revisions_table(times)
    assert "| aaaa | 2 | 4.10 | +0.0% |" in table and "| bbbb | 2 | 3.05 | -25.6% |" in table
    with pytest.raises(ValueError, match="epochs must be >= 2"):
        epochs.compare_revisions(["HEAD"], [], epochs=1)


def test_a_scaling_job_times_train_pys_step():
    from benchmarks import scaling

    assert scaling.job_steps(1024) == 10 and scaling.job_steps(32) == 160
    result = scaling._measure(
        {
            "settings": {"architecture": "mlp", "batch_size": 512},
            "threads": None,
            "devices": 1,
            "repeats": 1,
        }
    )
    assert result["images_per_second"] > 0 and result["steps_per_execution"] == 10
    table = scaling.scaling_table([("batch 32", 100.0, 10), ("batch 64", 150.0, 10)])
    assert "| batch 64 | 150 | 1.50 | 10 |" in table
