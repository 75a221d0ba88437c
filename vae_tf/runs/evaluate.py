"""Evaluating a run directory: its likelihood in nats, its samples, its disentanglement.

- `evaluate_run`: `vae_tf.metrics.evaluate_likelihood` of a run's model on
  its data (binarized as it trained), with the active units, the per-layer
  report of two stochastic layers, and the mutual information gap on data
  with known factors (`disentanglement_run`).
- `sample_quality_run`: FID, precision and recall of a run's samples (and
  its conditional accuracy), judged by the cached classifier of its dataset
  (`vae_tf.metrics.judge`).
- `run_binarization`: how the run's training images were binarized.
- `progress_file`: where an evaluation under way keeps the figures of the
  images it has done, to continue after a stop.

Results are plain dicts of numbers (`vae_tf.utils.files.write_json` writes
one atomically).

Example:

```python
result = evaluate_run("runs/conv_latent2", num_samples=1000)
result["elbo"], result["nll"], result["active_units"]

quality = sample_quality_run("runs/conv_latent2")  # the judge trains once (30 s), then is cached
quality["fid"], quality["precision"], quality["recall"]
```
"""

import os
import time

from vae_tf import data
from vae_tf.latent import encode_means
from vae_tf.metrics.codebook import codebook_report
from vae_tf.metrics.disentanglement import disentanglement_metrics
from vae_tf.metrics.generation import compare_features
from vae_tf.metrics.generation import sample_quality
from vae_tf.metrics.judge import load_judge
from vae_tf.metrics.likelihood import active_units
from vae_tf.metrics.likelihood import evaluate_likelihood
from vae_tf.metrics.likelihood import layer_report
from vae_tf.metrics.likelihood import reconstruction_error
from vae_tf.runs.artifacts import CONFIG_FILE
from vae_tf.runs.artifacts import load_run
from vae_tf.runs.artifacts import read_config
from vae_tf.runs.preset_files import is_preset
from vae_tf.runs.run_data import data_source
from vae_tf.runs.run_data import split_images
from vae_tf.utils.checks import check_positive_int

# `evaluate_likelihood`'s figures that a model without a density has not.
UNMEASURED = (
    "elbo",
    "kl",
    "nll",
    "nll_standard_error",
    "elbo_bits_per_dim",
    "nll_bits_per_dim",
    "k",
)


def run_binarization(run_dir):
    """`"dynamic"` if the run in `run_dir` trained on binarized images, else `"none"`."""
    if not (os.path.isfile(os.path.join(run_dir, CONFIG_FILE)) or is_preset(run_dir)):
        return "none"
    return "dynamic" if read_config(run_dir).binarize else "none"


def progress_file(run_dir, split, binarize, num_samples, num_examples, seed, chunk_size):
    """Where `evaluate_run(..., save_progress=True)` keeps an evaluation under way."""
    name = (
        f"evaluation-progress-{split}-{binarize}-k{num_samples}-n{num_examples}-seed{seed}"
        f"-chunk{chunk_size}.npz"
    )
    return os.path.join(run_dir, name)


def evaluate_run(
    run_dir,
    num_samples=1000,
    num_examples=1000,
    split="test",
    binarize="auto",
    seed=0,
    chunk_size=2048,
    arrays=None,
    progress=False,
    save_progress=False,
    log=None,
    disentanglement=True,
    progress_dir=None,
):
    """`evaluate_likelihood` of a run directory's model on its data (MNIST, ..., a folder).

    Args:
        run_dir: A run directory written by `vae_tf.train`, or a preset's
            folder (`vae_tf.presets.preset_directory`).
        num_samples: K importance samples per image.
        num_examples: The first `num_examples` images of the split (at most
            all of them).
        split: `"test"` or `"train"`.
        binarize: `"auto"` (dynamic when the run trained on binarized images,
            else none), or one of `vae_tf.data.BINARIZATIONS`.
        seed: Seed of the binarization and of the draws.
        chunk_size: Most codes decoded at once.
        arrays: The run's dataset as `load_dataset()` returns it, if already
            loaded.
        progress: Show the progress of the importance sampling.
        save_progress: Keep the figures of the images done in
            `progress_file(run_dir, ...)` as they come, so that the same
            call continues an evaluation that was stopped (removed once it
            is complete).
        log: Called with a line per disentanglement metric (its value and
            seconds), for data with known factors; or None.
        disentanglement: Measure the disentanglement metrics on data with
            known factors (False: the likelihood figures only).
        progress_dir: Where `save_progress` keeps its file (created if
            need be); None: `run_dir` (a preset installed with the package
            may be read-only).

    Returns:
        `evaluate_likelihood`'s dict (for a model without a posterior
        density, an autoencoder's or a WAE's: `reconstruction_error`'s, with
        `evaluate_likelihood`'s keys None; a VQ-VAE's: `codebook_report`'s,
        `codebook_perplexity`, `codebook_usage`, `bits_per_dim`, ...), plus
        `kl_estimate` ("closed form"
        or "Monte Carlo"), `prior` (its notation), the `layer_report` of a
        model with two stochastic layers, `active_units`, `latent_dim`,
        `conditional` (then the figures bound `-log p(x | label)`), `split`,
        `binarize`, `run_dir` and `seconds`; for data with known factors,
        `disentanglement_run`'s (on the same `num_examples` images):
        `vae_tf.metrics.disentanglement.METRIC_KEYS`, `mig_per_factor`,
        `mig_best_dimensions`, `disentanglement_seconds`.
    """
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train'; got {split!r}.")
    if binarize == "auto":
        binarize = run_binarization(run_dir)
    if binarize not in data.BINARIZATIONS:
        raise ValueError(
            f"binarize must be 'auto' or one of {data.BINARIZATIONS}; got {binarize!r}."
        )
    check_positive_int("num_examples", num_examples)
    model = load_run(run_dir).model  # first: it names a folder that is not a run
    config = read_config(run_dir)
    images, labels = split_images(config, split, num_examples, arrays)
    images = data.binarize_images(images[:num_examples], binarize, seed)
    labels = labels[:num_examples] if model.conditional else None
    start = time.perf_counter()
    if save_progress and progress_dir is not None:
        os.makedirs(progress_dir, exist_ok=True)
    saved = (
        progress_file(
            progress_dir or run_dir, split, binarize, num_samples, num_examples, seed, chunk_size
        )
        if save_progress
        else None
    )
    kl_estimate = model.kl_estimate  # a pass of the encoder: asked once
    if model.discrete_codes:
        # A VQ-VAE: its codebook's use, and the bits of its two-stage code.
        result = {**dict.fromkeys(UNMEASURED), **codebook_report(model, images, labels)}
    elif kl_estimate is None:
        # No posterior density (an autoencoder, a WAE): no ELBO nor likelihood.
        result = {**dict.fromkeys(UNMEASURED), **reconstruction_error(model, images, labels)}
    else:
        result = evaluate_likelihood(
            model,
            images,
            labels,
            num_samples=num_samples,
            seed=seed,
            chunk_size=chunk_size,
            progress=progress,
            progress_file=saved,
            keep_progress=True,
        )
    layers = layer_report(model, images, seed=seed) if model.stochastic_layers > 1 else {}
    source = data_source(config)
    factors = (
        _disentanglement_of_codes(model, config, source, split, num_examples, seed, arrays, log)
        if source.factors and disentanglement
        else {}
    )
    # Codebook indices vary with the image, used or not: no active units.
    units = None if model.discrete_codes else active_units(model, images, labels)[0]
    if saved is not None and os.path.exists(saved):
        os.remove(saved)  # only now: a failure above could continue from it at once
    return {
        **result,
        **layers,
        **factors,
        "kl_estimate": kl_estimate,
        "prior": model.prior.notation,
        "active_units": units,
        "latent_dim": model.latent_dim,
        "conditional": model.conditional,
        "split": split,
        "binarize": binarize,
        "run_dir": os.path.abspath(run_dir),
        "seconds": time.perf_counter() - start,
    }


def sample_quality_run(
    run_dir,
    num_examples=10000,
    split="test",
    seed=0,
    judge_epochs=3,
    cache_dir=None,
    arrays=None,
    progress=False,
    log=print,
):
    """FID, precision and recall of a run's samples against its real images.

    The judge is the classifier of the run's dataset (`load_judge`: trained
    on its training images the first time, then read from the cache). As
    many samples are drawn from the prior as real images are compared. The
    same figures between the training images and the compared ones
    (`real_fid`, `real_precision`, `real_recall`) say what two sets of real
    images score: the best a model can hope for at this count.

    Args:
        run_dir: A run directory written by `vae_tf.train`.
        num_examples: Real images compared (the first ones of the split,
            at most all of them) and samples drawn.
        split: `"test"` (held-out images) or `"train"`.
        seed: Seed of the samples.
        judge_epochs: Epochs of the judge's training (its cache key).
        cache_dir: Folder of the cached judges (see `judge_cache_dir`).
        arrays: The run's dataset as `load_dataset()` returns it, if loaded.
        progress: Show the progress of generation.
        log: Called with a line when the judge is trained (None: silent).

    Returns:
        `sample_quality`'s dict (`fid`, `precision`, `recall`,
        `num_images`, `precision_recall_k`, and `conditional_accuracy` when conditional), plus
        `real_fid`, `real_precision`, `real_recall` (None for a folder
        without held-out images), `judge_accuracy` (on held-out images),
        `judge_dir`, `judge_cached` and `sample_quality_seconds`.

    Raises:
        vae_tf.metrics.judge.NoJudgeError: for unlabelled data.
    """
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train'; got {split!r}.")
    check_positive_int("num_examples", num_examples)
    config = read_config(run_dir)
    model = load_run(run_dir).model
    start = time.perf_counter()
    source = data_source(config)
    judge = load_judge(
        source, judge_epochs, seed=0, cache_dir=cache_dir, log=log, verbose=2 if progress else 0
    )
    if arrays is None and source.folder is None:
        arrays = source.load()  # once, for the compared images and the reference ones
    images, labels = split_images(config, split, num_examples, arrays)
    features = judge.features(images)
    result = sample_quality(
        model,
        judge,
        images,
        labels,
        seed=seed,
        progress=progress,
        real_features=features,
    )
    other = "train" if split == "test" else "test"
    held_out = source.folder is None or len(source.folder.paths("validation")) > 0
    if held_out:
        reference, _ = split_images(config, other, len(images), arrays)
        real = compare_features(features, judge.features(reference[: len(images)]))
    else:  # a folder without held-out images: "test" is the training images
        real = dict.fromkeys(("fid", "precision", "recall"))
    return {
        **result,
        **{f"real_{key}": value for key, value in real.items()},
        "judge_accuracy": judge.test_accuracy,
        "judge_dir": judge.path,
        "judge_cached": judge.info["cached"],
        "sample_quality_seconds": time.perf_counter() - start,
    }


def disentanglement_run(run_dir, split="test", num_examples=None, seed=0, arrays=None, log=None):
    """Every disentanglement metric of a run's codes, on data with known factors (`shapes`, `faces`).

    The first `num_examples` images of the split (all by default) are
    encoded (their posterior means) and compared with their factors
    (`vae_tf.metrics.disentanglement_metrics`).

    Args:
        run_dir: A run directory written by `vae_tf.train`.
        split: `"test"` or `"train"`.
        num_examples: How many images (bounds the cost); None: all.
        seed: Seed of the metrics' draws and classifiers.
        arrays: The run's dataset as `load_dataset()` returns it, if loaded.
        log: Called with a line per metric (its value and seconds), or None.

    Returns:
        `{"mig", "factor_vae_score", "beta_vae_score", "dci_disentanglement",
        "dci_completeness", "dci_informativeness", "sap", "mig_per_factor":
        {factor: gap}, "mig_best_dimensions": {factor: dimension},
        "disentanglement_seconds": {metric: seconds},
        "disentanglement_examples"}`.

    Raises:
        ValueError: when the run's data has no known factors.
    """
    config = read_config(run_dir)
    source = data_source(config)
    if source.factors is None:
        raise ValueError(
            f"{source.name} has no known factors of variation: the disentanglement metrics "
            f"need a dataset that has them (--dataset={' or --dataset='.join(data.factor_dataset_names())})."
        )
    model = load_run(run_dir).model
    return _disentanglement_of_codes(model, config, source, split, num_examples, seed, arrays, log)


def _disentanglement_of_codes(model, config, source, split, num_examples, seed, arrays, log):
    """`disentanglement_run`'s figures for a `model` already loaded."""
    images, labels = split_images(config, split, num_examples, arrays)
    codes = encode_means(model, images, labels if model.conditional else None)
    factors = source.factors(split)[: len(codes)]
    result = disentanglement_metrics(
        codes, factors, seed=seed, factor_names=source.factor_names, log=log
    )
    seconds = result.pop("seconds")
    return {**result, "disentanglement_seconds": seconds, "disentanglement_examples": len(codes)}
