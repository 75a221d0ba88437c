import os

import nbformat
import pytest
from conftest import REPO
from nbclient import NotebookClient

# End-to-end: notebooks run top to bottom in a kernel.
pytestmark = pytest.mark.slow

NOTEBOOKS = sorted(
    name for name in os.listdir(os.path.join(REPO, "notebooks")) if name.endswith(".ipynb")
)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(name, tmp_path, monkeypatch, judge_cache):
    # Small settings: the notebooks read these (and the session's MNIST judge of 1 epoch).
    monkeypatch.setenv("VAE_TF_NOTEBOOK_EPOCHS", "1")
    monkeypatch.setenv("VAE_TF_NOTEBOOK_JUDGE_EPOCHS", "1")
    monkeypatch.setenv("VAE_TF_CACHE", judge_cache)
    monkeypatch.setenv("VAE_TF_NOTEBOOK_IMAGES", "2048")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with open(os.path.join(REPO, "notebooks", name)) as f:
        notebook = nbformat.read(f, as_version=4)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2  # the figures
