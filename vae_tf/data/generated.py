"""What the generated datasets (`shapes`, `faces`) share: their two seeded splits.

Each draws its training split from the seed `(seed, 0)` and its test split
from `(seed, 1)`, and keeps them read-only, because one process shares them
with every caller (each module caches its own with `functools.lru_cache`).

Example:

```python
@functools.lru_cache(maxsize=2)
def _split(split, seed):
    return draw_split(make_shapes, split, seed, TRAIN_COUNT, TEST_COUNT)
```
"""

SPLITS = ("train", "test")


def check_split(split):
    """Raises ValueError unless `split` is "train" or "test"."""
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}.")


def draw_split(make, split, seed, train_count, test_count):
    """`make(count, seed=[seed, index])` of the split, its arrays made read-only.

    `make(count, seed)` -> `(images, factors)`; `index` is 0 for "train", 1 for "test".
    """
    count, index = (train_count, 0) if split == "train" else (test_count, 1)
    images, factors = make(count, seed=[seed, index])
    images.flags.writeable = False  # shared by every caller of this process
    factors.flags.writeable = False
    return images, factors
