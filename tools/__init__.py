"""Tooling of the repository, not shipped in vae_tf's wheel.

- `browser`: the explorer's page driven in headless Chromium (Playwright),
  for the tests and `scripts/explorer_latency.py`.

Importable from the repository's root (the scripts and the tests put it on
`sys.path`).
"""
