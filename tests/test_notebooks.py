"""Every notebook in notebooks/ runs top to bottom without an error, is committed clean, and
its published copy (notebooks/published/, made by `python tools/course.py publish`) is fresh.

Each notebook checks its own derivations with asserts, so "runs without raising" means
"every numerical check in it passed". New notebooks are picked up by the glob.
"""
import functools
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import course  # noqa: E402  (tools/course.py: one executor for the tests and for publishing)

PATHS = course.solution_paths()
IDS = [p.name for p in PATHS]

# Agg only renders when asked; drawing every figure at the end makes a bad label or a
# mathtext error fail the test instead of passing silently.
DRAW_ALL_FIGURES = ("import matplotlib.pyplot as plt\n"
                    "for number in plt.get_fignums():\n"
                    "    plt.figure(number).canvas.draw()")

# a number as a cell prints it: 12, -0.58, 1.1e-16, 3.2E+04 (digits glued to a name, as in
# "L_500" or "float64", are part of the name, not numbers)
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@functools.lru_cache(maxsize=None)
def executed(path):
    """The solution notebook at path, run once per test session in a fresh kernel."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(DRAW_ALL_FIGURES))
    course.execute(nb)                                # raises CellExecutionError on any error
    nb.cells.pop()
    return nb


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_notebook_runs_without_error(path):
    executed(path)


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} hold outputs; clear them before "
                       "committing (jupyter nbconvert --clear-output --inplace NOTEBOOK)")


def test_kernel_is_the_python_running_the_tests():
    # The "python3" kernel spec says argv[0] = "python"; jupyter_client replaces that with
    # sys.executable, so the notebooks see the same venv (and the same minivae) as pytest.
    cell = nbformat.v4.new_code_cell("import sys, matplotlib, minivae\nprint(sys.prefix)\n"
                                     "print(matplotlib.get_backend())\nprint(minivae.__file__)")
    nb = course.execute(nbformat.v4.new_notebook(cells=[cell]))
    prefix, backend, package = nb.cells[0].outputs[0]["text"].split()
    assert prefix == sys.prefix
    assert backend.lower() == "agg"
    assert Path(package).resolve().parent == ROOT / "minivae"


# --- published copies -------------------------------------------------------------------

def text_of(cell):
    """Everything a code cell printed or returned as text (errors excluded)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data") and "text/plain" in out.data:
            if not any(k.startswith("image/") for k in out.data):      # "<Figure ...>" reprs
                parts.append(out.data["text/plain"])
    return "".join(parts)


def images_of(cell):
    return sum(any(k.startswith("image/") for k in out.get("data", {}))
               for out in cell.get("outputs", []))


def numbers_agree(a, b):
    """Two printed numbers agree up to float32 round-off, amplified by training runs.

    A number with a decimal point or an exponent may be off by one unit in its last printed
    digit (rounding at the boundary), plus 1e-4 of its size; an integer (a count, a shape)
    only by 1e-4 of its size; values at double round-off level (below 1e-9) all agree.
    """
    x, y = float(a), float(b)
    if max(abs(x), abs(y)) < 1e-9:
        return True
    mantissa = re.split("[eE]", a)[0]
    if "." not in a and not re.search("[eE]", a):
        unit = 0.0
    else:
        decimals = len(mantissa.partition(".")[2])
        unit = 10.0 ** ((int(re.split("[eE]", a)[1]) if re.search("[eE]", a) else 0) - decimals)
    return abs(x - y) <= 1.01 * unit + 1e-4 * max(abs(x), abs(y))


def published_problems(source, published, fresh=None, values=True):
    """What makes a published copy stale, as a list of one-line messages (empty: fresh).

    values=False compares how many numbers and figures each cell prints, not their values."""
    if len(source.cells) != len(published.cells):
        return [f"{len(published.cells)} cells published, {len(source.cells)} in the source"]
    problems = []
    for i, (s, p) in enumerate(zip(source.cells, published.cells)):
        if s.cell_type != p.cell_type or s.source != p.source:
            problems.append(f"cell {i}: published text differs from the source")
        elif s.cell_type == "code" and not p.get("outputs") and fresh and fresh.cells[i].outputs:
            problems.append(f"cell {i}: published without its outputs")
    if fresh is None or problems:
        return problems
    for i, (p, f) in enumerate(zip(published.cells, fresh.cells)):
        if p.cell_type != "code":
            continue
        old, new = NUMBER.findall(text_of(p)), NUMBER.findall(text_of(f))
        if len(old) != len(new):
            problems.append(f"cell {i}: prints {len(new)} numbers now, {len(old)} published")
        elif values:
            changed = [(a, b) for a, b in zip(old, new) if not numbers_agree(a, b)]
            if changed:
                problems.append(f"cell {i}: printed numbers changed (published, now): {changed[:3]}")
        if images_of(p) != images_of(f):
            problems.append(f"cell {i}: {images_of(f)} figures now, {images_of(p)} published")
    return problems


STALE = "; run `python tools/course.py publish` and commit notebooks/published/"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_published_copy_has_the_sources_cells(path):
    published = course.PUBLISHED / path.name
    assert published.exists(), f"{path.name} has no published copy{STALE}"
    problems = published_problems(nbformat.read(path, as_version=4),
                                  nbformat.read(published, as_version=4))
    assert not problems, f"{path.name}: {problems[0]}{STALE}"


def same_environment_as_published():
    """True when numpy, scipy and matplotlib are the versions the copies were published with.

    Float32 training runs can print other last digits under another numpy (its bundled
    OpenBLAS and its kernels differ), so under other versions (CI's run with the oldest
    versions requirements.txt allows) digits that differ fall back to a comparison of how
    many numbers and figures each cell prints."""
    import json
    return json.loads(course.PUBLISHED_WITH.read_text()) == course.environment()


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_published_numbers_are_what_the_code_prints_now(path):
    published = course.PUBLISHED / path.name
    assert published.exists(), f"{path.name} has no published copy{STALE}"
    source, copy = nbformat.read(path, as_version=4), nbformat.read(published, as_version=4)
    problems = published_problems(source, copy, fresh=executed(path))
    if problems and not same_environment_as_published():
        import json
        import warnings
        warnings.warn(f"{path.name}: published with {json.loads(course.PUBLISHED_WITH.read_text())} and run "
                      f"with {course.environment()}, its digits differ ({problems[0]}): comparing how many "
                      "numbers and figures each cell prints instead")
        problems = published_problems(source, copy, fresh=executed(path), values=False)
    assert not problems, f"{path.name}: {problems}{STALE}"


def test_the_published_copies_record_the_versions_that_printed_them():
    import json
    recorded = json.loads(course.PUBLISHED_WITH.read_text())
    assert set(recorded) == {"numpy", "scipy", "matplotlib"}, recorded


def test_no_published_copy_without_a_source():
    orphans = {p.name for p in course.PUBLISHED.glob("*.ipynb")} - set(IDS)
    assert not orphans, f"published copies {sorted(orphans)} have no notebook in notebooks/"


# --- the staleness check itself can fail ------------------------------------------------

def _printing(text):
    cell = nbformat.v4.new_code_cell("print(...)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    return nbformat.v4.new_notebook(cells=[cell])


@pytest.mark.parametrize("old, new, fresh", [
    ("test -ELBO 117.10 nats", "test -ELBO 117.11 nats", True),      # last digit's rounding
    ("gap 3.55e-15", "gap 7.1e-16", True),                           # round-off noise
    ("loss 0.123456", "loss 0.123457", True),
    ("test -ELBO 117.10 nats", "test -ELBO 117.30 nats", False),
    ("KL 22.77, active 10 / 10", "KL 22.77, active 9 / 10", False),
    ("std 0.58 0.81", "std 0.58", False),                            # a number fewer
    ("L_500 -98.2", "L_100 -98.2", True),                            # names are not numbers
])
def test_staleness_check_flags_changed_numbers_only(old, new, fresh):
    source = _printing(old)
    problems = published_problems(source, _printing(old), fresh=_printing(new))
    assert (not problems) == fresh, problems


def test_staleness_check_flags_edited_code():
    source, published = _printing("1.0"), _printing("1.0")
    source.cells[0].source = "print(2 * ...)"
    assert published_problems(source, published)
    assert np.isfinite(float(NUMBER.findall("x = -1.5e-3")[0]))


def test_staleness_check_by_count_still_flags_a_missing_number():
    source = _printing("std 0.58 0.81")
    assert published_problems(source, _printing("std 0.58 0.81"), fresh=_printing("std 0.58"), values=False)
    assert not published_problems(source, _printing("std 0.58 0.81"), fresh=_printing("std 0.60 0.79"),
                                  values=False)


# --- the prose quotes what the cells print ------------------------------------------------

# a decimal number as prose writes it: 0.40, −86.93, 1,176.5 (not a section number such as
# "§10.1.2" or "Sec. 2.4", which the lookbehind and the trailing check leave out)
PROSE_NUMBER = re.compile(r"(?<![\w.§])[-−]?\d{1,3}(?:,\d{3})*\.\d+(?![\w.]*\d)")
SECTIONS = re.compile(r"(?:§|Sec\.|Section|Chapter|Ch\.)\s*\d+(?:\.\d+)+")
# numbers the prose derives rather than quotes, with the reason
PROSE_ALLOWED = {("07_beyond_the_basic_vae.ipynb", "2.30"): "log 10, the nats to tell ten classes apart"}


def unprinted_prose_numbers(nb, name=""):
    """(cell index, number) for each decimal number in a markdown cell that no code cell
    prints (or sets in its source) to that many decimals."""
    values = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            for text in (text_of(cell), cell.source):
                values += [abs(float(v)) for v in NUMBER.findall(text.replace(",", ""))]
    missing = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for match in PROSE_NUMBER.finditer(SECTIONS.sub("", cell.source)):
            quoted = match.group().lstrip("-−").replace(",", "")
            decimals, value = len(quoted.split(".")[1]), float(quoted)
            if (name, quoted) in PROSE_ALLOWED:
                continue
            if not any(abs(round(v, decimals) - value) < 1e-9 for v in values):
                missing.append((i, match.group()))
    return missing


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_published_prose_quotes_only_numbers_the_cells_print(path):
    published = nbformat.read(course.PUBLISHED / path.name, as_version=4)
    missing = unprinted_prose_numbers(published, path.name)
    assert not missing, (f"{path.name}: markdown states numbers no cell prints, (cell, number): {missing}; "
                         "print them, or quote what the cells print")


def test_prose_check_flags_a_number_no_cell_printed():
    nb = _printing("test -ELBO 117.104 nats, KL 22.77")
    nb.cells.append(nbformat.v4.new_markdown_cell(
        "The bound is 117.10 nats (KL 22.8; see §10.1.2 and Sec. 2.4); the run reached −118.25."))
    assert unprinted_prose_numbers(nb) == [(1, "−118.25")]
