"""The library's own plumbing, one subject a module (none of it is about VAEs).

- `startup`: TensorFlow imported without its screen of C++ start-up lines.
- `checks`: the checks of settings (`Integer`, `Number`, `OneOf`), shared by
  configs, models, data sources and flags.
- `files`: files that appear whole or not at all, JSON, damaged files
  (`DamagedFileError`) and full disks (`DiskFullError`).
- `progress`: progress bars and the time left of long loops.
- `signals`: Ctrl-C and SIGTERM as process policy (`SignalCatcher`,
  `sigterm_as_interrupt`, `Interrupted`).
- `images`: images tiled into one, and PNG files and data URLs of them.

Nothing is imported here: `startup` must run before TensorFlow is imported,
and the others are imported where they are used.

Example:

```python
from vae_tf.utils.images import tile_images, png_bytes
from vae_tf.utils.signals import SignalCatcher
```
"""
