"""Measures a trained run in nats: test negative ELBO and importance-weighted NLL.

    python scripts/evaluate.py --run_dir=runs/conv_latent2_20261122-231700
    python scripts/evaluate.py --run_dir=RUN --k=5000 --num_examples=10000
    python scripts/evaluate.py --run_dir=RUN --output_json=RUN/evaluation.json
    python scripts/evaluate.py --run_dir=RUN --sample_quality
    python scripts/evaluate.py --preset=mnist_conv_latent2     # a pretrained model

Prints the negative ELBO (reconstruction + KL) and the importance-weighted
bound on -log p(x) with K samples (Burda et al., 2015), in nats per example
and bits per dimension; for a model without a posterior density (an
autoencoder, a WAE), the reconstruction of each image from its code. Runs
trained on binarized images are evaluated on a seeded binarization of the
test images (--binarize=auto), as in the literature. --output_json writes
{"elbo", "reconstruction", "kl", "nll", "k", "num_examples", ...} as
positive nats per example.

A long evaluation (K=5000 on 10k images takes hours) that is stopped, by
Ctrl-C, SIGTERM or a crash, continues where it was when the same command is
run again (--save_progress), with the result an uninterrupted one gives.

--sample_quality adds the FID, precision and recall of the model's samples
(and, for a conditional model, how often they show the requested class),
seen by a classifier of the run's dataset that is trained once and cached
(vae_tf.metrics.judge: $VAE_TF_CACHE, else ~/.cache/vae_tf/judges), with
the same figures between real training and test images for scale.

On data with known factors (--dataset=shapes or faces) it also prints, and writes, the
disentanglement of the codes of the same --num_examples images: mig,
factor_vae_score, beta_vae_score, dci_disentanglement, dci_completeness,
dci_informativeness and sap, each with the seconds it took
(vae_tf.metrics.disentanglement).

--preset=NAME evaluates a pretrained model (vae_tf.presets) as a run: with
the protocol of its metadata (docs/presets.md) it gives the figures its
metadata records.
"""

from absl import app
from absl import flags

from vae_tf import cli
from vae_tf import data
from vae_tf.metrics.disentanglement import METRIC_KEYS
from vae_tf.metrics.judge import NoJudgeError
from vae_tf.runs import evaluate
from vae_tf.runs.preset_files import is_preset
from vae_tf.utils.files import cache_dir
from vae_tf.utils.files import folder_name
from vae_tf.utils.files import write_json

flags.DEFINE_string("run_dir", None, "Run directory written by scripts/train.py.")
cli.define_preset_flag()
flags.DEFINE_integer(
    "k", 1000, "Importance samples per image (1 gives an estimate of the ELBO).", lower_bound=1
)
flags.DEFINE_integer(
    "num_examples",
    1000,
    "Evaluate the first this many images of the split (at most all).",
    lower_bound=1,
)
flags.DEFINE_enum("split", "test", ["test", "train"], "MNIST split to evaluate.")
flags.DEFINE_enum(
    "binarize",
    "auto",
    ["auto", *data.BINARIZATIONS],
    "Images to score: auto (dynamic if the run trained on binarized images, else none), "
    "none (grey levels), dynamic (a seeded Bernoulli draw per pixel), static (> 0.5).",
)
flags.DEFINE_integer("seed", 0, "Seed of the binarization and the samples.", lower_bound=0)
flags.DEFINE_integer(
    "chunk_size", 2048, "Most latent codes decoded at once (bounds memory).", lower_bound=1
)
flags.DEFINE_bool(
    "save_progress",
    True,
    "Keep the figures of the images done in RUN_DIR/evaluation-progress-*.npz (every minute "
    "and when stopped), so that the same command continues a stopped evaluation; the file is "
    "removed when the evaluation completes.",
)
flags.DEFINE_string("output_json", None, "Also write the results to this JSON file.")
flags.DEFINE_bool(
    "sample_quality",
    False,
    "Also measure the samples: FID, precision and recall in the feature space of a judge "
    "classifier of the run's dataset (trained once, then cached), and the conditional "
    "accuracy of a conditional model.",
)
flags.DEFINE_integer(
    "sample_quality_examples",
    10000,
    "Real images compared with as many samples (at most the split's).",
    lower_bound=2,
)
flags.DEFINE_integer("judge_epochs", 3, "Epochs of the judge classifier.", lower_bound=1)

FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    run_dir = cli.run_dir_or_preset()
    name = FLAGS.run_dir or FLAGS.preset
    result = evaluate.evaluate_run(
        run_dir,
        num_samples=FLAGS.k,
        num_examples=FLAGS.num_examples,
        split=FLAGS.split,
        binarize=FLAGS.binarize,
        seed=FLAGS.seed,
        chunk_size=FLAGS.chunk_size,
        progress=True,
        save_progress=FLAGS.save_progress,
        # A preset installed with the package may be read-only: its progress goes to the cache.
        progress_dir=cache_dir("evaluations", folder_name(run_dir)) if is_preset(run_dir) else None,
    )
    print(
        f"{name}: {result['num_examples']} {result['split']} images, "
        f"binarization {result['binarize']}"
        + (f", K={result['k']}" if result["k"] is not None else "")
        + f" ({result['seconds']:.1f} s)"
        + ("; conditional: the figures bound -log p(x | label)" if result["conditional"] else "")
    )
    if result["nll"] is None:
        bits = result["reconstruction_bits_per_dim"]
        units = f"nats  ({bits:.4f} bits/dim)" if bits is not None else "(squared error)"
        print(
            f"reconstruction {result['reconstruction']:8.2f} {units} of each image from its "
            f"code, +- {result['reconstruction_standard_error']:.2f} (standard error over images)"
        )
        if "codebook_perplexity" in result:
            _print_codebook(result)
        else:
            print("no ELBO nor NLL: the model has no posterior density q(z|x)")
    else:
        print(
            f"negative ELBO  {result['elbo']:8.2f} nats  ({result['elbo_bits_per_dim']:.4f} "
            f"bits/dim) = reconstruction {result['reconstruction']:.2f} + KL {result['kl']:.2f}"
            + (
                f" (Monte Carlo estimate against {result['prior']})"
                if result["kl_estimate"] == "Monte Carlo"
                else ""
            )
        )
        print(
            f"NLL (IWAE)     {result['nll']:8.2f} nats  ({result['nll_bits_per_dim']:.4f} "
            f"bits/dim)  +- {result['nll_standard_error']:.2f} (standard error over images)"
        )
    if result["active_units"] is not None:
        print(
            f"active units   {result['active_units']} of {result['latent_dim']} latent dimensions"
        )
    if "mig" in result:
        seconds = result["disentanglement_seconds"]
        print(
            f"disentanglement of the factors, {result['disentanglement_examples']} images "
            "(1 = each factor in one latent dimension of its own):"
        )
        for key in METRIC_KEYS:
            # DCI's three figures come from one computation: its time once.
            timed = "dci" if key == "dci_disentanglement" else key
            took = f"  ({seconds[timed]:.1f} s)" if timed in seconds else ""
            print(f"  {key:20} {result[key]:6.3f}{took}")
        print(
            "  MIG per factor: "
            + "  ".join(
                f"{name} {gap:.3f} (z[{result['mig_best_dimensions'][name]}])"
                for name, gap in result["mig_per_factor"].items()
            )
        )
    for layer, (kl, units, size) in enumerate(
        zip(
            result.get("kl_per_layer", ()),
            result.get("active_units_per_layer", ()),
            result.get("latent_dim_per_layer", ()),
        ),
        start=1,
    ):
        print(f"  layer z{layer}: KL {kl:.2f} nats, {units} of {size} units active")
    if FLAGS.sample_quality:
        try:
            quality = evaluate.sample_quality_run(
                run_dir,
                num_examples=FLAGS.sample_quality_examples,
                split=FLAGS.split,
                seed=FLAGS.seed,
                judge_epochs=FLAGS.judge_epochs,
                progress=True,
            )
        except NoJudgeError as error:  # the likelihood figures above are still written
            print(f"no sample quality: {error}")
        else:
            _print_sample_quality(quality, FLAGS.split)
            result.update(quality)
    if FLAGS.output_json:
        print(f"wrote {write_json(result, FLAGS.output_json)}")


def _print_codebook(result):
    """A VQ-VAE's lines: its prior's cross-entropy, the bits per dimension, its codebook's use."""
    bits = result["bits_per_dim"]
    print(
        f"prior          {result['prior_nll']:8.2f} nats  -log p(c) of each code map (PixelCNN; "
        f"uniform: {result['prior_uniform_nll']:.2f}), +- {result['prior_nll_standard_error']:.2f}"
    )
    if bits is not None:
        print(
            f"bits/dim       {bits:8.4f}       -log p(x | z_q) - log p(c), per pixel, +- "
            f"{result['bits_per_dim_standard_error']:.4f} (an upper bound of the NLL's)"
        )
    print(
        f"codebook       perplexity {result['codebook_perplexity']:.1f} of "
        f"{result['codebook_size']} codes, {result['codes_used']} used "
        f"({100 * result['codebook_usage']:.1f}%)"
    )


def _print_sample_quality(quality, split):
    judge = (
        f"{quality['judge_accuracy']:.2%} on held-out images"
        if quality["judge_accuracy"] is not None
        else "no held-out images to score it"
    )
    print(
        f"sample quality of {quality['num_images']:,} samples against as many {split} images "
        f"(judge: {judge}; {quality['judge_dir']})"
    )
    real = quality["real_fid"] is not None
    for name, low in (("fid", True), ("precision", False), ("recall", False)):
        label = "FID" if name == "fid" else name
        line = f"{label:<14} {quality[name]:8.3f}"
        if real:
            line += (
                f"   (real {'train' if split == 'test' else 'test'} images: "
                f"{quality['real_' + name]:.3f})"
            )
        line += "  lower is better" if low else "  higher is better"
        print(line)
    if "conditional_accuracy" in quality:
        print(
            f"conditional accuracy {quality['conditional_accuracy']:.2%} of the samples show "
            "the class they were drawn for"
        )


if __name__ == "__main__":
    cli.run(main)
