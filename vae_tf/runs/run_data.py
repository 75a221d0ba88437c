"""The data of a run: its source, its training stream from any position, its figure images.

`data_source(config)` is the one place where a config's data is chosen (a
folder, or a dataset by name from `vae_tf.data`'s registry); everything else
asks the `DataSource`: image shape, classes, default likelihood, loading.

Example:

```python
config = TrainConfig(dataset="fashion_mnist")
source = data_source(config)                   # shape, classes, likelihood
data = run_data(config, source)
data.train_from(epoch=3, batch=17)             # what an uninterrupted run sees there
images, labels = split_images(config, "test", count=100)
```
"""

import dataclasses
import math
from typing import Callable
from typing import Optional

from vae_tf import data as datasets
from vae_tf.data import DataSource
from vae_tf.data import ImageFolder


def data_source(config):
    """The `DataSource` of `config`: its `data_dir` folder, or its named dataset."""
    if config.data_dir is not None:
        return datasets.folder_source(
            ImageFolder(
                config.data_dir,
                config.image_size,
                config.channels,
                validation_split=0.0 if config.train_on_all else config.validation_split,
                bad_images=config.bad_images,
                cache=config.cache,
            )
        )
    return datasets.get_source(config.dataset)


def image_shape(config):
    """`(height, width, channels)` of the images `config` trains on (no folder scan)."""
    if config.data_dir is not None:
        return (config.image_size, config.image_size, config.channels)
    return datasets.get_source(config.dataset).image_shape


def likelihood(config, source=None):
    """`config.likelihood`, with "auto" resolved to the data source's own.

    Bernoulli suits digits, whose pixels are nearly black or white; natural
    images get a Gaussian with a learned variance, a true density of
    continuous intensities.
    """
    if config.likelihood != "auto":
        return config.likelihood
    return (source or data_source(config)).likelihood


def _folder_images(folder, split, count=None):
    """Decoded images of a folder: held-out ones for "test" (training ones if none are)."""
    held_out = split == "test" and len(folder.paths("validation")) > 0
    return folder.load("validation" if held_out else "train", count or 1000)


def split_images(config, split="test", count=None, arrays=None):
    """`(images, labels)` of the run's data as numpy arrays, for figures and evaluation.

    `split="test"` is the validation data (MNIST's test set; a folder's
    held-out files); `count` keeps the first ones (a folder: 1,000 by
    default, decoded now). `arrays`: the named dataset as `load_dataset`
    returns it, if already loaded.
    """
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train'; got {split!r}.")
    if config.data_dir is not None:
        return _folder_images(data_source(config).folder, split, count)
    (x_train, y_train), (x_test, y_test) = arrays or datasets.load_dataset(config.dataset)
    images, labels = (x_test, y_test) if split == "test" else (x_train, y_train)
    return images[:count], None if labels is None else labels[:count]


@dataclasses.dataclass
class RunData:
    """The pipelines of a run.

    Attributes:
        source: The `DataSource`.
        train_from: `train_from(epoch, batch=0)` -> the training data from
            that position on, as an uninterrupted run sees it there (see
            `vae_tf.data.passes`).
        batches_per_pass: Batches in one pass over the training data.
        train_examples: Images in one pass (the model's `dataset_size`).
        validation: The validation pipeline, or None.
        test_set: `(images, labels)` numpy arrays for the figures.
    """

    source: DataSource
    train_from: Callable
    batches_per_pass: int
    validation: Optional[object]
    test_set: tuple
    train_examples: int


def _folder_passes(config, folder):
    batches = dict(batch_size=config.batch_size, labels=config.conditional)
    held_out = len(folder.paths("validation")) > 0
    validation = folder.dataset("validation", **batches) if held_out else None

    def train_pass(first_pass):
        return folder.dataset(
            "train", shuffle=True, seed=config.seed, first_pass=first_pass, **batches
        )

    examples = len(folder.paths("train"))
    batches_per_pass = math.ceil(examples / config.batch_size)
    return train_pass, batches_per_pass, validation, _folder_images(folder, "test"), examples


def _array_passes(config, source):
    arrays = source.load()

    def pipelines(first_pass):
        return datasets.mnist_datasets(
            batch_size=config.batch_size,
            train_on_all=config.train_on_all,
            binarize=config.binarize,
            seed=config.seed,
            mnist=arrays,
            labels=config.conditional,
            first_pass=first_pass,
        )

    train, validation = pipelines(0)
    # Building a pipeline copies the images into a tensor (0.7 s for MNIST):
    # a fresh run trains on this first one.
    unused = {0: train}

    def train_pass(first_pass):
        built = unused.pop(first_pass, None)
        return built if built is not None else pipelines(first_pass)[0]

    examples = len(arrays[0][0]) + (len(arrays[1][0]) if config.train_on_all else 0)
    return train_pass, len(train), validation, arrays[1], examples


def run_data(config, source):
    """The `RunData` of `config` from its `source` (see `data_source`)."""
    if source.folder is not None:
        passes = _folder_passes(config, source.folder)
    else:
        passes = _array_passes(config, source)
    train_pass, batches_per_pass, validation, test_set, examples = passes

    def train_from(epoch, batch=0):
        if not config.steps_per_epoch:
            return train_pass(epoch).skip(batch)
        # Shortened epochs cut across passes: one endless stream of passes,
        # entered at the run's global step.
        step = epoch * config.steps_per_epoch + batch
        stream = train_pass(step // batches_per_pass).repeat()
        return stream.skip(step % batches_per_pass)

    return RunData(source, train_from, batches_per_pass, validation, test_set, examples)
