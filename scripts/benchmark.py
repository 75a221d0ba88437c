"""Measures training speed by execution mode or by model variant, and the latent grid's decoding.

    python scripts/benchmark.py                       # every mode, conv, latent 2, batch 128
    python scripts/benchmark.py --modes=eager,graph --steps=20
    python scripts/benchmark.py --architecture=mlp --latent_dim=20 --grid_size=0
    python scripts/benchmark.py --architecture=gated --latent_dim=50 --steps=20 \\
        --variants="posterior=iaf,flow_steps=4;prior=vamp;stochastic_layers=2,architecture=mlp"
    python scripts/benchmark.py --posterior=iaf --flow_steps=4 --architecture=gated --latent_dim=50
    python scripts/benchmark.py --scaling=all              # batch, threads, devices, latent, K
    python scripts/benchmark.py --profile_dir=/tmp/profile --steps=100   # where a step's time goes
    python scripts/benchmark.py --revisions=98e653a,HEAD --train_flags="--architecture=mlp"

Prints a Markdown table of training images per second for eager execution
(run_eagerly=True, the tutorial's mode and the baseline), the compiled step,
XLA, several steps per compiled call, mixed precision (where this machine
computes it natively) and the same model in PyTorch (where torch is
installed), each the median of --repeats timings of --steps steps taken in
turns, with its ratio to eager; then the speed of the two networks alone
(forward and backward: the ceiling of the float32 modes), the input
pipeline's own speed, and the time to decode the 30 x 30 latent grid with 900
predict calls against one batched call. A timing is the steps inside `fit`,
as in an epoch (not `fit`'s once-per-call start), and the networks alone are
timed in the same turns as the modes. docs/benchmarks.md records the results.

With --scaling it measures how train.py's step scales (batch size, thread
pools, MirroredStrategy over logical CPUs, latent size, IWAE's K), each
setting in a fresh process; with --revisions, train.py's epoch times at
several git revisions of this repository, run in turns (docs/speed.md).

With --variants (or train.py's flags --model, --objective, --num_samples,
--prior, --posterior, --flow_steps, --stochastic_layers and --decoder, where
train.py has them, which give one variant) it times model variants instead:
each is train.py's model of the settings it lists (`name=value` as train.py's
flags, ',' between settings, ';' between variants) over the plain VAE of
--architecture, --latent_dim and --batch_size, compiled as train.py compiles
it, and all, the plain VAE included, are timed in turns on the same batches
of dynamically binarized MNIST. The table gives each one's training images
per second, its step time and CPU time relative to the plain VAE's (what an
epoch costs beside the plain VAE's; the CPU time is the steadier where other
programs share the machine) and its parameters. docs/speed.md records
results.
"""

import os
import shlex
import sys

from absl import app
from absl import flags

# The benchmark code is tooling beside the package (benchmarks/ at the root), not in the wheel.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from benchmarks import benchmark  # noqa: E402
from benchmarks import epochs  # noqa: E402
from benchmarks import scaling  # noqa: E402
from benchmarks import step_profile  # noqa: E402
from vae_tf import cli  # noqa: E402
from vae_tf.data import MNIST_SHAPE  # noqa: E402
from vae_tf.models.architectures import PRESETS  # noqa: E402
from vae_tf.runs import TrainConfig  # noqa: E402
from vae_tf.runs import build_model  # noqa: E402

# The presets made for MNIST's 28x28 images (conv64 wants 64x64).
MNIST_PRESETS = sorted(name for name, preset in PRESETS.items() if preset[3] == MNIST_SHAPE)
flags.DEFINE_enum("architecture", "conv", MNIST_PRESETS, "Encoder/decoder preset.")
flags.DEFINE_integer("latent_dim", 2, "Size of the latent code.", lower_bound=1)
flags.DEFINE_integer("batch_size", 128, "Images per training step.", lower_bound=1)
flags.DEFINE_integer("steps", 50, "Training steps per timing.", lower_bound=1)
flags.DEFINE_integer(
    "repeats", 3, "Timings per mode or variant (the median counts).", lower_bound=1
)
flags.DEFINE_list(
    "modes", list(benchmark.MODES), f"Modes to measure, among {', '.join(benchmark.MODES)}."
)
flags.DEFINE_integer(
    "steps_per_execution", 10, "Steps per compiled call in the fused modes.", lower_bound=1
)
flags.DEFINE_integer("grid_size", 30, "Side of the latent grid to time (0: skip).", lower_bound=0)
flags.DEFINE_string(
    "variants",
    None,
    "Model variants to time beside the plain VAE, instead of the modes: train.py settings "
    "as name=value, ',' between a variant's settings, ';' between variants, e.g. "
    "'posterior=iaf,flow_steps=4;prior=vamp' (docs/flags.md lists the settings).",
)
flags.DEFINE_list(
    "scaling",
    None,
    "Scaling tables to measure instead of the modes, among "
    f"{', '.join(scaling.SCALING_JOBS)} (or 'all'): images/s of train.py's step over "
    "--architecture and --latent_dim, each setting in a fresh process.",
)
flags.DEFINE_string(
    "profile_dir",
    None,
    "Trace --steps steps of train.py's step (--architecture, --latent_dim, --batch_size and "
    "the variant flags given, on dynamically binarized MNIST) with the TensorFlow profiler "
    "into this folder, and print its "
    "op time by part of the step (needs pip install tensorboard-plugin-profile; TensorBoard's "
    "Profile tab opens the trace).",
)
flags.DEFINE_list(
    "revisions",
    None,
    "Git revisions of this repository (e.g. 98e653a,HEAD) whose train.py epoch times to "
    "compare side by side, run in turns, --repeats runs of --epochs epochs each, with the "
    "train.py flags of --train_flags; instead of the modes.",
)
flags.DEFINE_string(
    "train_flags",
    "",
    "train.py's flags for --revisions, e.g. '--architecture=mlp --latent_dim=50'.",
)
flags.DEFINE_integer(
    "epochs",
    2,
    "Epochs per run of --revisions (the first, which traces, is not timed).",
    lower_bound=2,
)
# train.py's own flags for the settings of one variant (--posterior=iaf --flow_steps=4).
benchmark.define_variant_flags()
flags.adopt_module_key_flags(cli)  # listed by --helpshort
# The flags of the modes' measurement, which the variants' does not use.
MODE_FLAGS = ("modes", "steps_per_execution", "grid_size")
FLAGS = flags.FLAGS


def time_variants(flag_variant):
    """Times --variants, or the one variant of the train.py flags given, beside the plain VAE."""
    if FLAGS.variants is not None and flag_variant:
        given = " ".join(f"--{name}" for name in flag_variant)
        raise app.UsageError(
            f"Give the variants either in --variants or as flags ({given}), not both."
        )
    modes = [f"--{name}" for name in MODE_FLAGS if FLAGS[name].present]
    if modes:
        raise app.UsageError(
            f"The modes' flags ({', '.join(modes)}) do not apply to variants, which are timed in "
            "train.py's default mode: drop them, or time the modes in a run without variants."
        )
    if FLAGS.variants is not None:
        variants = benchmark.parse_variants(FLAGS.variants)
    else:
        variants = [flag_variant]
    # Refused combinations stop here, before anything is printed.
    benchmark.variant_configs(
        variants, FLAGS.architecture, FLAGS.latent_dim, FLAGS.batch_size, FLAGS.steps
    )
    print(f"Machine: {benchmark.describe_machine()}")
    print(
        f"Plain VAE: {FLAGS.architecture}, latent {FLAGS.latent_dim}, batch {FLAGS.batch_size}, "
        "dynamically binarized MNIST; each variant changes the settings it lists. Median of "
        f"{FLAGS.repeats} timings of {FLAGS.steps} steps each, all timed in turns.\n"
    )
    results = benchmark.measure_variants(
        variants,
        FLAGS.architecture,
        FLAGS.latent_dim,
        FLAGS.batch_size,
        FLAGS.steps,
        FLAGS.repeats,
        log=print,
    )
    print()
    print(benchmark.variants_table(results))
    print()
    print(
        f"Timed: the compiled training step, {results[0].steps_per_execution} steps per compiled "
        f"call (train.py's, for epochs of {FLAGS.steps} steps). Step time x plain VAE: the "
        "variant's median step time over the plain VAE's, what an epoch costs beside the plain "
        "VAE's; CPU time x plain VAE: the same of the process's CPU time, the work done, "
        "steadier where other programs share the machine. Parameters: the weights the step "
        "trains."
    )


def time_revisions():
    """Times train.py's epochs at each of --revisions, in turns."""
    print(f"Machine: {benchmark.describe_machine()}")
    print(
        f"train.py {FLAGS.train_flags} --epochs={FLAGS.epochs}, from each revision's tree; "
        f"{FLAGS.repeats} runs per revision in turns; epochs after the first.\n"
    )
    times = epochs.compare_revisions(
        FLAGS.revisions,
        shlex.split(FLAGS.train_flags),
        epochs=FLAGS.epochs,
        rounds=FLAGS.repeats,
        log=print,
    )
    print()
    print(epochs.revisions_table(times))


def time_scaling():
    """Prints the --scaling tables."""
    names = list(scaling.SCALING_JOBS) if FLAGS.scaling == ["all"] else FLAGS.scaling
    unknown = sorted(set(names) - set(scaling.SCALING_JOBS))
    if unknown:
        raise app.UsageError(
            f"Unknown --scaling {unknown}; choose from {list(scaling.SCALING_JOBS)} or 'all'."
        )
    print(f"Machine: {benchmark.describe_machine()}")
    print(
        f"train.py's step over {FLAGS.architecture}, latent {FLAGS.latent_dim}, batch 128 unless "
        f"the row says otherwise; dynamically binarized MNIST; median of {FLAGS.repeats} "
        f"timings of {scaling.IMAGES_PER_TIMING} images, each setting in a fresh process.\n"
    )
    for name in names:
        rows = scaling.measure_scaling(
            scaling.SCALING_JOBS[name],
            architecture=FLAGS.architecture,
            latent_dim=FLAGS.latent_dim,
            repeats=FLAGS.repeats,
            log=print,
        )
        print(f"\n{name}:\n")
        print(scaling.scaling_table(rows))
        print()


def profile_step(flag_variant):
    """Traces train.py's step into --profile_dir and prints its op time by part."""
    # Dynamically binarized MNIST, as the variants are timed (a PixelCNN decoder needs it).
    settings = {
        "architecture": FLAGS.architecture,
        "latent_dim": FLAGS.latent_dim,
        "batch_size": FLAGS.batch_size,
        "binarize": True,
        **flag_variant,
    }
    trace = step_profile.profile_training(settings, FLAGS.profile_dir, steps=FLAGS.steps)
    print(f"Trace of {FLAGS.steps} steps of {settings}: {trace}")
    print("(tensorboard --logdir " + FLAGS.profile_dir + ", Profile tab: trace viewer, op stats)\n")
    print("| part of the step | share of the ops' time |\n| --- | ---: |")
    for part, share in step_profile.op_time_by_part(trace).items():
        print(f"| {part} | {share:.1%} |")


# The flags each other measurement uses besides --repeats; the others do not apply to it.
OWN_FLAGS = {
    "revisions": ("revisions", "train_flags", "epochs"),
    "profile_dir": ("profile_dir", "architecture", "latent_dim", "batch_size", "steps"),
    "scaling": ("scaling", "architecture", "latent_dim"),
}


def check_measurement():
    """Refuses flags that the measurement asked for (--revisions, --profile_dir, --scaling) ignores."""
    asked = [name for name in OWN_FLAGS if FLAGS[name].present]
    if len(asked) > 1:
        raise app.UsageError(f"Give one of {', '.join('--' + name for name in asked)}, not both.")
    if not asked:
        return None
    job = asked[0]
    measured = set(MODE_FLAGS) | {"variants", "train_flags", "epochs", "steps", "batch_size"}
    measured |= {"architecture", "latent_dim"}
    if job == "profile_dir":
        measured -= set(OWN_FLAGS[job])  # and the variant flags, which choose the model traced
    else:
        measured |= set(benchmark.variant_flag_names())
    ignored = sorted(name for name in measured - set(OWN_FLAGS[job]) if FLAGS[name].present)
    if ignored:
        raise app.UsageError(
            f"--{job} does not use {', '.join('--' + name for name in ignored)}: drop "
            f"{'it' if len(ignored) == 1 else 'them'}."
        )
    return job


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_logs(FLAGS)
    job = check_measurement()
    if job == "revisions":
        return time_revisions()
    if job == "profile_dir":
        return profile_step(benchmark.flag_variant(FLAGS))
    if job == "scaling":
        return time_scaling()
    unknown = sorted(set(FLAGS.modes) - set(benchmark.MODES))
    if unknown:
        raise app.UsageError(f"Unknown --modes {unknown}; choose from {list(benchmark.MODES)}.")
    flag_variant = benchmark.flag_variant(FLAGS)
    if FLAGS.variants is not None or flag_variant:
        return time_variants(flag_variant)
    print(f"Machine: {benchmark.describe_machine()}")
    print(
        f"Model: {FLAGS.architecture}, latent {FLAGS.latent_dim}, batch {FLAGS.batch_size}; "
        f"median of {FLAGS.repeats} timings of {FLAGS.steps} steps per mode, taken in turns.\n"
    )
    results = benchmark.measure_training(
        FLAGS.modes,
        FLAGS.architecture,
        FLAGS.latent_dim,
        FLAGS.batch_size,
        FLAGS.steps,
        FLAGS.repeats,
        FLAGS.steps_per_execution,
        log=print,
    )
    print()
    print(benchmark.training_table(results))
    print()
    line = benchmark.summary(results)
    if line:
        print(line)
    networks = results[-1].images_per_second
    print(
        f"Encoder and decoder alone, forward and backward in float32: {networks:,.0f} images/s "
        "(the ceiling of the float32 modes, timed in turns with them)"
    )
    pipeline = benchmark.pipeline_images_per_second(batch_size=FLAGS.batch_size)
    print(f"Input pipeline alone: {pipeline:,.0f} images/s")
    if FLAGS.grid_size:
        model = build_model(TrainConfig(architecture=FLAGS.architecture, latent_dim=2))
        single, batched = benchmark.latent_grid_seconds(model, FLAGS.grid_size)
        calls = FLAGS.grid_size**2
        print(
            f"Latent grid {FLAGS.grid_size}x{FLAGS.grid_size}: {calls} predict calls "
            f"{single:.2f} s; one batched call {batched:.3f} s ({single / batched:,.0f}x)"
        )


if __name__ == "__main__":
    cli.run(main)
