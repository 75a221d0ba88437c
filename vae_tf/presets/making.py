"""Making a preset of a run: `save_preset` writes one; `make_preset` trains, measures, saves.

- `save_preset(run_dir, out_dir, ...)`: a finished run as a preset folder
  (config.json, model.weights.h5, metadata.json), with its settings, the
  train.py command that gives them, its training and the figures measured.
- `slice_figures(directory, k, num_examples)`: the figures of the first
  test images, the quick check a preset's metadata records.
- `make_preset(name, runs_dir, out_dir)`: a shipped preset from its recipe
  (`SHIPPED_PRESETS`): trains the run (or finishes an interrupted one),
  evaluates it (once: the figures are kept in the run), and saves it.

Example:

```python
run = vae_tf.train(vae_tf.TrainConfig(latent_dim=2, epochs=5))
evaluation = vae_tf.runs.evaluate_run(run.run_dir, num_samples=100)
save_preset(run.run_dir, "my_preset", description="Mine", evaluation=evaluation)
vae = vae_tf.from_preset("my_preset")
```
"""

import datetime
import os

from vae_tf.presets.catalog import SHIPPED_PRESETS
from vae_tf.runs.artifacts import MODEL_FILE
from vae_tf.runs.artifacts import load_run
from vae_tf.runs.artifacts import read_config
from vae_tf.runs.artifacts import read_settings
from vae_tf.runs.config import TrainConfig
from vae_tf.runs.config import differences
from vae_tf.runs.evaluate import evaluate_run
from vae_tf.runs.evaluate import sample_quality_run
from vae_tf.runs.loop import train
from vae_tf.runs.preset_files import is_preset
from vae_tf.runs.preset_files import read_metadata
from vae_tf.runs.preset_files import write_preset
from vae_tf.utils.files import folder_name
from vae_tf.utils.files import read_json
from vae_tf.utils.files import write_json

# The measurement `make_preset` keeps in a run, so that a second call does not redo it.
EVALUATION_FILE = "preset_evaluation.json"
# Figures of an evaluation that describe the machine, not the model.
_MACHINE_KEYS = (
    "run_dir",
    "judge_dir",
    "judge_cached",
    "seconds",
    "sample_quality_seconds",
    "disentanglement_seconds",
)
# A slice's figures, each model's own: a density's bounds, or a VQ-VAE's code lengths,
# with their standard errors over the images.
_SLICE_KEYS = (
    "elbo",
    "nll",
    "nll_standard_error",
    "reconstruction",
    "reconstruction_standard_error",
    "kl",
    "prior_nll",
    "prior_nll_standard_error",
    "bits_per_dim",
    "bits_per_dim_standard_error",
)


def slice_figures(directory, k, num_examples, seed=0, arrays=None):
    """`evaluate_run`'s figures on the first `num_examples` test images, with K=`k`.

    Of a run directory or a preset's folder; the disentanglement metrics
    are left out (seconds each). Returns `{"k", "num_examples", "seed",
    "figures": {name: nats}}`, the figures being those the model has of
    `elbo`, `nll`, `reconstruction`, `kl`, `prior_nll`, `bits_per_dim` and
    their standard errors over the images. `arrays`: the run's dataset as
    `load_dataset()` returns it, if already loaded (its test split is read).
    """
    result = evaluate_run(
        directory,
        num_samples=k,
        num_examples=num_examples,
        seed=seed,
        arrays=arrays,
        disentanglement=False,
    )
    figures = {key: result[key] for key in _SLICE_KEYS if result.get(key) is not None}
    return {"k": k, "num_examples": num_examples, "seed": seed, "figures": figures}


def save_preset(run_dir, out_dir, description=None, evaluation=None, check=None, name=None):
    """Writes the finished run in `run_dir` as a preset in `out_dir`.

    Args:
        run_dir: A finished run directory written by `vae_tf.train`.
        out_dir: The preset's folder, created (a preset already there is
            replaced; any other non-empty folder is refused).
        description: What the model is, in a sentence or two; default:
            its model, dataset and latent size.
        evaluation: Its measured figures (`evaluate_run`'s dict, with
            `sample_quality_run`'s if measured), or None.
        check: `slice_figures` of the run, or None.
        name: The preset's name; default: the folder's.

    Returns:
        The metadata written (see `vae_tf.presets.metadata`).
    """
    run = load_run(run_dir)
    config = read_config(run_dir)
    settings = {key: value for key, value in config.settings().items() if key != "output_dir"}
    name = name or folder_name(out_dir)
    model = run.model
    metadata = {
        "name": name,
        "description": description
        or f"{config.model} on {config.dataset}, {config.latent_dim} latent dimensions.",
        "dataset": config.dataset,
        "model": config.model,
        "class_name": type(model).__name__,
        "conditional": bool(model.conditional),
        "command": config.command(),
        "settings": settings,
        "versions": read_settings(run_dir).get("versions", {}),
        "training": run.training,
        "evaluation": None
        if evaluation is None
        else {key: value for key, value in evaluation.items() if key not in _MACHINE_KEYS},
        "check": check,
        "date": datetime.date.today().isoformat(),
    }
    return write_preset(model, out_dir, metadata)


def _recipe_config(name, run_dir):
    recipe = SHIPPED_PRESETS[name]
    config = TrainConfig(**recipe["settings"], output_dir=run_dir)
    config.validate()
    return config


def _measured(run_dir, protocol, log):
    """The run's evaluation under `protocol`, measured once and kept in the run."""
    path = os.path.join(run_dir, EVALUATION_FILE)
    if os.path.isfile(path):
        kept = read_json(path)
        same = kept.get("num_examples") == protocol["num_examples"] and kept.get("k") in (
            protocol["k"],
            None,  # a VQ-VAE's: no importance samples
        )
        if same and ("fid" in kept or not protocol["sample_quality"]):
            log(f"{run_dir}: the evaluation kept in {EVALUATION_FILE}")
            return kept
    log(f"{run_dir}: evaluating (K={protocol['k']}, {protocol['num_examples']} images)")
    result = evaluate_run(
        run_dir,
        num_samples=protocol["k"],
        num_examples=protocol["num_examples"],
        progress=True,
        save_progress=True,
    )
    if protocol["sample_quality"]:
        result.update(sample_quality_run(run_dir, progress=True))
    write_json(result, path)
    return result


def make_preset(name, runs_dir, out_dir, log=print):
    """Makes the shipped preset `name` from its recipe: trains, measures and saves it.

    The run is `runs_dir/name`: trained if absent, resumed if interrupted,
    used as it is if finished (its settings must be the recipe's). Its
    evaluation is kept in it (`EVALUATION_FILE`), so that the preset can be
    written again without measuring again.

    Returns:
        The metadata of the preset written in `out_dir/name`.
    """
    if name not in SHIPPED_PRESETS:
        raise ValueError(
            f"No recipe for the preset {name!r}; the recipes: {sorted(SHIPPED_PRESETS)}."
        )
    recipe = SHIPPED_PRESETS[name]
    run_dir = os.path.join(runs_dir, name)
    config = _recipe_config(name, run_dir)
    if os.path.isfile(os.path.join(run_dir, MODEL_FILE)):
        # Every setting, those a resume may change too: the preset is what the recipe trains.
        changed = differences(read_settings(run_dir), config.settings(), may_change=("output_dir",))
        if changed:
            raise ValueError(
                f"{run_dir} was not trained by the recipe of {name} (run -> recipe: "
                f"{'; '.join(changed)}). Move it away to train the recipe's run."
            )
    else:
        log(f"{name}: training {config.command()}")
        train(config)
    evaluation = _measured(run_dir, recipe["evaluation"], log)
    check = slice_figures(run_dir, recipe["check"]["k"], recipe["check"]["num_examples"])
    return save_preset(
        run_dir,
        os.path.join(out_dir, name),
        description=recipe["description"],
        evaluation=evaluation,
        check=check,
        name=name,
    )


def _numbers(evaluation):
    """A preset's measured numbers in a table cell."""
    e = evaluation or {}
    parts = []
    if e.get("nll") is not None:
        parts.append(
            f"NLL **{e['nll']:.2f} ± {e['nll_standard_error']:.2f}** (K={e['k']}, "
            f"{e['num_examples']:,} test images), negative ELBO {e['elbo']:.2f}, "
            f"{e['active_units']} of {e['latent_dim']} units active"
        )
    if e.get("bits_per_dim") is not None:
        parts.append(
            f"**{e['bits_per_dim']:.3f} bits/dim** (reconstruction {e['reconstruction']:.2f} + "
            f"prior {e['prior_nll']:.2f} nats, {e['num_examples']:,} test images), codebook "
            f"perplexity {e['codebook_perplexity']:.1f} of {e['codebook_size']}"
        )
    if e.get("fid") is not None:
        parts.append(
            f"FID {e['fid']:.1f}, precision {e['precision']:.2f}, recall {e['recall']:.2f}"
        )
    if e.get("conditional_accuracy") is not None:
        parts.append(f"{e['conditional_accuracy']:.1%} of samples show their class")
    if e.get("mig") is not None:
        parts.append(
            f"MIG {e['mig']:.3f}, FactorVAE {e['factor_vae_score']:.3f}, DCI "
            f"{e['dci_disentanglement']:.3f}"
        )
    return "; ".join(parts) or "not measured"


def presets_table(directory):
    """docs/presets.md's table of the presets in `directory` (markdown, one row each)."""
    rows = [
        "| preset | what it is | size | measured | command |",
        "|---|---|---|---|---|",
    ]
    for name in sorted(os.listdir(directory)):
        if not is_preset(os.path.join(directory, name)):
            continue
        info = read_metadata(os.path.join(directory, name))
        rows.append(
            f"| `{name}` | {info['description']} | {info['weights_bytes'] / 1e6:.1f} MB, "
            f"{info['parameter_count']:,} parameters | {_numbers(info['evaluation'])} | "
            f"`{info['command']}` |"
        )
    return "\n".join(rows)
