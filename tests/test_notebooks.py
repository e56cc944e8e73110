"""Every notebook in notebooks/ runs top to bottom without an error, and is committed clean.

Each notebook checks its own derivations with asserts, so "runs without raising" means
"every numerical check in it passed". New notebooks are picked up by the glob.
"""
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))

# Agg only renders when asked; drawing every figure at the end makes a bad label or a
# mathtext error fail the test instead of passing silently.
DRAW_ALL_FIGURES = ("import matplotlib.pyplot as plt\n"
                    "for number in plt.get_fignums():\n"
                    "    plt.figure(number).canvas.draw()")


def _execute(nb, monkeypatch):
    """Run nb in a fresh python3 kernel, in the notebooks/ folder, with a non-GUI matplotlib.

    The kernel inherits this process's environment. PYTHONPATH starts with the checkout, so
    `import minivae` in a notebook finds the code under test even where minivae is not
    pip-installed (an editable install points at the same files).
    """
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT),
                                                                   os.environ.get("PYTHONPATH")])))
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()                                  # raises CellExecutionError on any error
    return nb


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_notebook_runs_without_error(path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(DRAW_ALL_FIGURES))
    _execute(nb, monkeypatch)


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} hold outputs; clear them before "
                       "committing (jupyter nbconvert --clear-output --inplace NOTEBOOK)")


def test_kernel_is_the_python_running_the_tests(monkeypatch):
    # The "python3" kernel spec says argv[0] = "python"; jupyter_client replaces that with
    # sys.executable, so the notebooks see the same venv (and the same minivae) as pytest.
    cell = nbformat.v4.new_code_cell("import sys, matplotlib, minivae\nprint(sys.prefix)\n"
                                     "print(matplotlib.get_backend())\nprint(minivae.__file__)")
    nb = _execute(nbformat.v4.new_notebook(cells=[cell]), monkeypatch)
    prefix, backend, package = nb.cells[0].outputs[0]["text"].split()
    assert prefix == sys.prefix
    assert backend.lower() == "agg"
    assert Path(package).resolve().parent == ROOT / "minivae"
