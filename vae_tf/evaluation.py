"""Measures of a trained VAE.

- `train_digit_classifier` and `conditional_accuracy`: how often a
  conditional VAE draws the class it is asked for, judged by an independent
  CNN classifier trained on real MNIST.

Example:

```python
classifier, test_accuracy = train_digit_classifier()        # about a minute on CPU
accuracy, per_label = conditional_accuracy(cvae, classifier, per_label=1000)
```
"""

import keras
import numpy as np
from keras import layers

from vae_tf import data


def build_digit_classifier(image_shape=data.MNIST_SHAPE, num_classes=data.MNIST_CLASSES):
    """A small CNN (two conv + pool blocks, dropout, softmax) for digit images."""
    return keras.Sequential(
        [
            keras.Input(shape=image_shape),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="digit_classifier",
    )


def train_digit_classifier(epochs=3, batch_size=128, seed=0, mnist=None, verbose=0):
    """Trains `build_digit_classifier` on the MNIST training images.

    Returns:
        `(classifier, test_accuracy)`; about 99% after 3 epochs.
    """
    (x_train, y_train), (x_test, y_test) = mnist or data.load_mnist()
    keras.utils.set_random_seed(seed)
    classifier = build_digit_classifier()
    classifier.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    classifier.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=verbose)
    _, accuracy = classifier.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    return classifier, float(accuracy)


def conditional_accuracy(model, classifier, per_label=1000, seed=0, batch_size=1000):
    """Fraction of generated images that `classifier` assigns the requested label.

    Draws `per_label` images per class from a conditional VAE, with z from
    the prior, and classifies them.

    Returns:
        `(overall accuracy, per-label accuracies array)`.
    """
    if not model.conditional:
        raise ValueError("conditional_accuracy needs a conditional VAE.")
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(model.num_classes), per_label)
    z = rng.standard_normal((len(labels), model.latent_dim)).astype("float32")
    predictions = []
    for start in range(0, len(labels), batch_size):
        images = model.decode(z[start : start + batch_size], labels[start : start + batch_size])
        predictions.append(np.argmax(classifier.predict(images, verbose=0), axis=-1))
    correct = np.concatenate(predictions) == labels
    per_class = correct.reshape(model.num_classes, per_label).mean(axis=1)
    return float(correct.mean()), per_class
