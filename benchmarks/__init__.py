"""Speed measurements of vae_tf: tooling beside the package, not shipped in its wheel.

- `benchmark`: training speed by execution mode, the networks alone, the
  input pipeline and the latent grid's decoding (`scripts/benchmark.py`
  prints them; docs/benchmarks.md records them).
- `torch_reference`: the same `conv` and `mlp` models in PyTorch, where
  torch is installed.
- `disentanglement_metrics`: the seven disentanglement metrics timed on
  10,000 codes (`python benchmarks/disentanglement_metrics.py`).

Importable from the repository's root (`scripts/benchmark.py` and the tests
put it on `sys.path`).
"""

# First, before benchmark.py imports TensorFlow itself: vae_tf starts it without the screen of
# C++ start-up lines (vae_tf.utils.startup).
import vae_tf  # noqa: F401
