"""Trains and evaluates a grid of latent sizes and betas, or models over their published values.

    python scripts/sweep.py --architecture=mlp --epochs=10 --output_dir=runs/sweep
    python scripts/sweep.py --latent_dims=2,20 --betas=1,4 --epochs=3 --k=1000

Every point is a run directory <output_dir>/latent<d>_beta<b> (with its
evaluation.json); the sweep writes <output_dir>/sweep.csv and sweep.png
(reconstruction against KL, NLL and active units against beta; and against
latent size, reconstruction beside the samples' FID, precision and recall,
judged by a classifier of the dataset trained once and cached). Interrupted
sweeps resume: finished points are reused. Every flag of train.py but
--beta and --output_dir applies to all points (--latent_dims in place of
--latent_dim).

With --models, a disentanglement sweep instead (docs/disentanglement.md):

    python scripts/sweep.py --models=beta_tcvae,factor_vae --dataset=shapes \\
        --architecture=dlib64 --latent_dim=10 --epochs=10 --batch_size=64 \\
        --learning_rate=0.0005 --output_dir=runs/disentanglement
    python scripts/sweep.py --models=vae --values=1,4 --seeds=0,1 --dataset=shapes

each model (vae, annealed_vae, factor_vae, dip_vae, dip_vae_ii, beta_tcvae)
trained at the six values of its setting in disentanglement_lib's study
(or --values, for one model) and every seed of --seeds, each run
<output_dir>/<model>/<setting><value>_seed<seed> measured against the
data's known factors (MIG, FactorVAE and beta-VAE scores, DCI, SAP) on
--num_examples test images (default 10000: all of shapes' 5,000). It writes
<output_dir>/disentanglement_runs.csv (a row per run),
disentanglement_summary.csv (mean and standard deviation over the seeds)
and disentanglement_sweep.png. A flag of train.py that only some models take
(--capacity_steps, --kl_warmup_epochs, ...) applies to those; --seeds
replaces --seed.
"""

import dataclasses

from absl import app
from absl import flags

from vae_tf import cli
from vae_tf.models.registry import specific_settings
from vae_tf.runs import disentanglement_sweep
from vae_tf.runs import sweeps
from vae_tf.runs.config import TrainConfig

cli.define_train_flags(exclude=("beta", "output_dir"))
flags.adopt_module_key_flags(cli)
flags.DEFINE_list("latent_dims", [f"{d}" for d in sweeps.LATENT_DIMS], "Latent sizes to sweep.")
flags.DEFINE_list("betas", [f"{b:g}" for b in sweeps.BETAS], "KL weights to sweep.")
flags.DEFINE_string(
    "output_dir",
    None,
    "Folder of the sweep, resumed if it exists (default: runs/sweep; runs/disentanglement "
    "with --models).",
)
flags.DEFINE_integer("k", 100, "Importance samples of the NLL per image.", lower_bound=1)
flags.DEFINE_integer(
    "num_examples",
    None,
    "Test images evaluated per point (default: 1000; 10000 with --models).",
    lower_bound=1,
)
flags.DEFINE_bool(
    "sample_quality",
    True,
    "Measure every point's samples (FID, precision, recall); --nosample_quality skips it.",
)
flags.DEFINE_integer(
    "sample_quality_examples",
    10000,
    "Test images compared with as many samples per point.",
    lower_bound=2,
)
flags.DEFINE_integer("judge_epochs", 3, "Epochs of the judge classifier.", lower_bound=1)
flags.DEFINE_list(
    "models",
    None,
    "A disentanglement sweep of these models over their published values: "
    f"{','.join(disentanglement_sweep.PUBLISHED_VALUES)}.",
)
flags.DEFINE_list("seeds", ["0", "1", "2"], "With --models: the seeds of every model and value.")
flags.DEFINE_list(
    "values", None, "With --models of one model: its values in place of the published ones."
)

FLAGS = flags.FLAGS
# The flags of the latent size x beta sweep alone: a disentanglement sweep refuses them.
GRID_FLAGS = (
    "latent_dims",
    "betas",
    "k",
    "sample_quality",
    "sample_quality_examples",
    "judge_epochs",
)


def _numbers(name, values, kind):
    try:
        numbers = [kind(value) for value in values]
    except ValueError:
        raise app.UsageError(f"--{name} must be a comma-separated list of numbers; got {values}.")
    if not numbers or any(not number > 0 for number in numbers):
        raise app.UsageError(f"--{name} must list numbers > 0; got {values}.")
    return numbers


def _refuse(names, mode):
    given = [f"--{name}" for name in names if FLAGS[name].present]
    if given:
        raise app.UsageError(f"{', '.join(given)} cannot apply {mode}.")


def _grid_sweep():
    _refuse(("seeds", "values"), "without --models")
    _refuse(("latent_dim",), "to a sweep of --latent_dims")
    latent_dims = _numbers("latent_dims", FLAGS.latent_dims, int)
    betas = _numbers("betas", FLAGS.betas, float)
    base = cli.config_from_flags(FLAGS)
    output_dir = FLAGS.output_dir or "runs/sweep"
    sweeps.run_sweep(
        base,
        latent_dims,
        betas,
        output_dir,
        num_samples=FLAGS.k,
        num_examples=FLAGS.num_examples or 1000,
        sample_quality=FLAGS.sample_quality,
        sample_quality_examples=FLAGS.sample_quality_examples,
        judge_epochs=FLAGS.judge_epochs,
    )
    print(f"wrote {output_dir}/sweep.csv and sweep.png")


def _disentanglement_base():
    """The flags' config; the settings of some models only are kept for the sweep to apply.

    `config_from_flags` checks a config of one model, which would refuse
    --capacity_steps beside --models=vae,annealed_vae: those are checked per
    run by the sweep instead.
    """
    defaults = TrainConfig()
    specific = [name for name in specific_settings() if name in FLAGS]
    base = cli.config_from_flags(FLAGS, **{name: getattr(defaults, name) for name in specific})
    given = {
        name: cli.setting_values(name, [FLAGS[name].value])[0]
        for name in specific
        if FLAGS[name].present
    }
    return dataclasses.replace(base, **given)


def _disentanglement_sweep():
    _refuse(GRID_FLAGS, "with --models (it sweeps the models' published values)")
    _refuse(("model", "seed"), "with --models: it sets each run's model, and --seeds its seed")
    models = FLAGS.models
    unknown = [model for model in models if model not in disentanglement_sweep.PUBLISHED_VALUES]
    if unknown or not models:
        raise app.UsageError(
            f"--models must list some of {','.join(disentanglement_sweep.PUBLISHED_VALUES)}; "
            f"got {','.join(models) or 'none'}."
        )
    values = None
    if FLAGS.values is not None:
        if len(models) != 1:
            raise app.UsageError(
                f"--values are one model's: give --models a single model, not {','.join(models)}."
            )
        setting = disentanglement_sweep.PUBLISHED_VALUES[models[0]].setting
        values = {models[0]: cli.setting_values(setting, FLAGS.values)}
    try:
        seeds = [int(seed) for seed in FLAGS.seeds]
    except ValueError:
        raise app.UsageError(f"--seeds must be whole numbers >= 0; got {','.join(FLAGS.seeds)}.")
    output_dir = FLAGS.output_dir or "runs/disentanglement"
    disentanglement_sweep.run_disentanglement_sweep(
        _disentanglement_base(),
        models,
        values,
        seeds,
        output_dir,
        num_examples=FLAGS.num_examples or 10000,
    )
    print(
        f"wrote {output_dir}/disentanglement_runs.csv, disentanglement_summary.csv and "
        "disentanglement_sweep.png"
    )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_logs(FLAGS)
    try:
        _disentanglement_sweep() if FLAGS.models is not None else _grid_sweep()
    except ValueError as error:
        raise app.UsageError(str(error))


if __name__ == "__main__":
    cli.run(
        main, interrupted="the finished points stay in output_dir; run the same command to go on"
    )
