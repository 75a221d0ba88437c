"""Training runs: their settings, their directory, their files, the loop, and sweeps of them.

- `config`: `TrainConfig`, every setting with its help text and check.
- `directory`: `RunDirectory` (staged, locked, resumable, published whole).
- `artifacts`: the one writer and reader of each file of a run
  (`write_settings`, `read_config`, `read_history`, `load_run`, ...).
- `run_data`: the run's data source, its training stream from any position.
- `loop`: `train(config, callbacks=...)` and `build_model`.
- `evaluate`: a run measured: `evaluate_run` (nats, active units, MIG),
  `sample_quality_run` (FID, precision, recall), `disentanglement_run`.
- `sweeps`: latent size x beta sweeps of runs, evaluated in nats.
- `disentanglement_sweep`: the disentangling models over their published
  values and seeds, measured by the seven metrics (`run_disentanglement_sweep`).

Example:

```python
result = vae_tf.runs.train(vae_tf.runs.TrainConfig(latent_dim=2, epochs=30))
again = vae_tf.runs.load_run(result.run_dir)
vae_tf.runs.evaluate_run(result.run_dir)["nll"]
```
"""

# Reachable as vae_tf.runs.<module> once vae_tf is imported.
from vae_tf.runs import disentanglement_sweep  # noqa: F401
from vae_tf.runs import sweeps  # noqa: F401
from vae_tf.runs.artifacts import TrainResult
from vae_tf.runs.artifacts import load_run
from vae_tf.runs.artifacts import read_config
from vae_tf.runs.artifacts import read_history
from vae_tf.runs.config import PRECISIONS
from vae_tf.runs.config import TrainConfig
from vae_tf.runs.directory import RunDirectory
from vae_tf.runs.evaluate import disentanglement_run
from vae_tf.runs.evaluate import evaluate_run
from vae_tf.runs.evaluate import run_binarization
from vae_tf.runs.evaluate import sample_quality_run
from vae_tf.runs.loop import build_model
from vae_tf.runs.loop import default_output_dir
from vae_tf.runs.loop import kl_schedule
from vae_tf.runs.loop import train
from vae_tf.runs.run_data import data_source
from vae_tf.runs.run_data import image_shape
from vae_tf.runs.run_data import likelihood
from vae_tf.runs.run_data import split_images

__all__ = [
    "PRECISIONS",
    "RunDirectory",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "data_source",
    "default_output_dir",
    "disentanglement_run",
    "evaluate_run",
    "image_shape",
    "kl_schedule",
    "likelihood",
    "load_run",
    "read_config",
    "read_history",
    "run_binarization",
    "sample_quality_run",
    "split_images",
    "train",
]
