"""SavedModel export: written whole or not at all.

What every variant's SavedModel serves, in a process where vae_tf cannot be
imported, is checked by `harness.run_variant_test` (tests/test_variants.py).
"""

import pytest

from vae_tf import export_saved_model


def test_export_refuses_to_overwrite(tmp_path, conv_vae):
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError, match="already exists"):
        export_saved_model(conv_vae, tmp_path / "taken")
    assert not [p for p in tmp_path.iterdir() if p.name != "taken"]  # no leftovers
