"""What a model generates, seen by a judge: FID, precision and recall, conditional accuracy.

Generated images are decoder means (pixel probabilities for a Bernoulli
model) of codes drawn from the model's prior, compared with real images of
the same dataset in the 128-dimensional feature space of its `Judge`
(`vae_tf.metrics.judge`). A conditional model draws each generated image
with the label of one real image, so both sets hold the same classes.

Example:

```python
judge = load_judge(get_source("mnist"))
quality = sample_quality(vae, judge, x_test, y_test)
quality["fid"], quality["precision"], quality["recall"]
accuracy, per_label = conditional_accuracy(cvae, judge, per_label=1000)
```
"""

import numpy as np

from vae_tf.latent import prior_codes
from vae_tf.metrics.sample_quality import frechet_distance
from vae_tf.metrics.sample_quality import precision_recall
from vae_tf.utils.checks import check_positive_int
from vae_tf.utils.progress import progress_bar

NEIGHBOURS = 3  # k of the k-NN manifolds, as in Kynkäänniemi et al. (2019)


def judge_samples(model, judge, count, labels=None, seed=0, batch_size=1000, progress=False):
    """Draws `count` images from the prior and judges them.

    Args:
        model: A `vae_tf.VAE`.
        judge: A `Judge`, or any object whose `judge(images)` returns
            `(features, probabilities)`.
        count: How many images.
        labels: For a conditional model, the class of each image (`count`
            of them).
        seed: Seed of the codes.
        batch_size: Images decoded and judged at once.
        progress: Show a progress bar.

    Returns:
        `(features (count, D), probabilities (count, classes))`.
    """
    check_positive_int("count", count)
    if model.conditional and (labels is None or len(labels) != count):
        raise ValueError(f"A conditional model needs one label per generated image ({count}).")
    codes = prior_codes(model, count, seed, labels)
    labelled = model.conditional
    bar = None
    if progress:
        bar = progress_bar(count, "image", stateful=("accuracy",) if labelled else ())
    features, probabilities = [], []
    correct = 0
    for start in range(0, count, batch_size):
        stop = min(start + batch_size, count)
        # A seed per block: an autoregressive decoder's blocks draw other pixels.
        images = model.decode(
            codes[start:stop], labels[start:stop] if labelled else None, seed=seed + start
        )
        block = judge.judge(np.asarray(images))
        features.append(block[0])
        probabilities.append(block[1])
        if bar is not None:
            if labelled:  # the conditional accuracy so far
                correct += int(np.sum(block[1].argmax(axis=-1) == labels[start:stop]))
                bar.update(stop, [("accuracy", correct / stop)])
            else:
                bar.update(stop)
    return np.concatenate(features), np.concatenate(probabilities)


def compare_features(real, generated, k=NEIGHBOURS):
    """`{"fid", "precision", "recall"}` of two feature sets (see `sample_quality`)."""
    precision, recall = precision_recall(real, generated, k)
    return {"fid": frechet_distance(real, generated), "precision": precision, "recall": recall}


def sample_quality(
    model,
    judge,
    images,
    labels=None,
    seed=0,
    k=NEIGHBOURS,
    progress=False,
    real_features=None,
):
    """FID, precision and recall of `model`'s samples against the real `images`.

    As many images are generated as there are real ones (the FID depends on
    the count: compare figures of equal counts). A conditional model draws
    them with the real `labels`, and the judge's agreement with those labels
    is returned too. `real_features`, `judge.features(images)` if the caller
    already has them, saves judging the real images again.

    Returns:
        `{"fid", "precision", "recall", "num_images", "precision_recall_k"}`, plus
        `"conditional_accuracy"` for a conditional model.
    """
    images = np.asarray(images, "float32")
    real = judge.features(images) if real_features is None else real_features
    if model.conditional and labels is None:
        raise ValueError("A conditional model is judged against labelled images: pass labels.")
    labels = np.asarray(labels) if model.conditional else None
    generated, probabilities = judge_samples(
        model, judge, len(images), labels, seed, progress=progress
    )
    result = {
        **compare_features(real, generated, k),
        "num_images": len(images),
        "precision_recall_k": k,
    }
    if model.conditional:
        result["conditional_accuracy"] = float(np.mean(probabilities.argmax(axis=-1) == labels))
    return result


def conditional_accuracy(model, judge, per_label=1000, seed=0, batch_size=1000, progress=False):
    """Fraction of generated images that the judge assigns the requested label.

    Draws `per_label` images per class from a conditional VAE, with z from
    the prior, and classifies them (`judge`: a `Judge`, or a Keras
    classifier: anything with `predict(images)` returning probabilities).

    Returns:
        `(overall accuracy, per-label accuracies array)`.
    """
    if not model.conditional:
        raise ValueError("conditional_accuracy needs a conditional VAE.")
    labels = np.repeat(np.arange(model.num_classes), per_label)
    if not hasattr(judge, "judge"):
        judge = _PredictOnly(judge)
    _, probabilities = judge_samples(model, judge, len(labels), labels, seed, batch_size, progress)
    correct = probabilities.argmax(axis=-1) == labels
    return float(correct.mean()), correct.reshape(model.num_classes, per_label).mean(axis=1)


class _PredictOnly:
    """A Keras classifier as a judge without features (conditional accuracy needs none)."""

    def __init__(self, classifier):
        self.classifier = classifier

    def judge(self, images):
        probabilities = self.classifier.predict(images, verbose=0)
        return np.zeros((len(images), 0)), np.asarray(probabilities)
