r"""The course around the notebooks: student versions, and executed copies to browse.

    python tools/course.py exercises   # notebooks/NN_*.ipynb -> notebooks/exercises/NN_*.ipynb
    python tools/course.py publish     # notebooks/NN_*.ipynb -> notebooks/published/NN_*.ipynb, executed
    python tools/course.py all         # both
    python tools/course.py tag         # (authors) nbgrader's cell metadata, after adding an exercise
    python tools/course.py bank        # the answer bank's table, as docs/course.md shows it

The notebooks in notebooks/ are the *solution* versions. An exercise is written inside
nbgrader's markers, so an instructor can also hand the sources to nbgrader directly:

    ### BEGIN SOLUTION                       (a code cell: the lines in between become
    mu_beta = ...                             `raise NotImplementedError()`, indented like
    ### END SOLUTION                          the BEGIN line; the lines outside stay)

In a markdown cell the text between the markers becomes `YOUR ANSWER HERE`. The code cell
right after an exercise is its check: the asserts that grade it. The answers tried against
each check, right and wrong, live in tests/answers/ (tests/test_answers.py runs them), never
in a notebook.

`tag` writes nbgrader's cell metadata (solution cells, graded check cells with 1 point,
written answers graded by hand) into the sources, so nbgrader accepts them as they are;
tests/test_course.py fails when a notebook's tags are missing or out of date.

Student versions are generated, never edited: outputs stripped, cell metadata other than
nbgrader's dropped. Every notebooks/[0-9]*.ipynb is picked up, so new notebooks need no registration.

`publish` executes each solution notebook in a fresh kernel (from notebooks/, with
PYTHONPATH pointing at this checkout and matplotlib's non-GUI backend) and writes the
executed copy, outputs and figures included, to notebooks/published/. A published copy is
written only when its notebook ran clean, and atomically, so nothing half-written replaces a
good copy. tests/test_course.py fails when a published copy is stale.
"""
import argparse
import copy
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
EXERCISES = NOTEBOOKS / "exercises"
PUBLISHED = NOTEBOOKS / "published"
PUBLISHED_WITH = PUBLISHED / "environment.json"     # the versions the published numbers come from

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CODE_STUB, ANSWER_STUB = "raise NotImplementedError()", "YOUR ANSWER HERE"


def solution_paths():
    """The solution notebooks, in reading order: notebooks/[0-9]*.ipynb."""
    return sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))


def has_solution(cell):
    """True if the cell holds a ### BEGIN SOLUTION marker."""
    return BEGIN in cell.source


def replace_solution(source, stub, keep_indent=True):
    r"""Replace every BEGIN ... END SOLUTION region of source (markers included) by stub.

    The stub takes the indentation of its BEGIN line; lines outside the markers are kept.
    A missing END marker is an authoring error and raises.
    """
    lines, out, i = source.split("\n"), [], 0
    while i < len(lines):
        line = lines[i]
        if BEGIN not in line:
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip())] if keep_indent else ""
        j = i + 1
        while j < len(lines) and END not in lines[j]:
            j += 1
        if j == len(lines):
            raise ValueError(f"'{BEGIN}' without '{END}' in:\n{source}")
        out.append(indent + stub)
        i = j + 1
    return "\n".join(out)


def plant(source, replacement):
    """source with its (single) solution region replaced by the lines of replacement."""
    indent_of = re.search(r"^([ \t]*)" + re.escape(BEGIN), source, re.M)
    indent = indent_of.group(1)
    body = "\n".join(indent + line if line else line for line in replacement.split("\n"))
    return replace_solution(source, "\x00").replace(indent + "\x00", body)


def student_version(nb):
    """The student notebook generated from the solution notebook nb (a new object)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.metadata.pop("course", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if has_solution(cell):
                cell.source = replace_solution(cell.source, CODE_STUB)
        elif cell.cell_type == "markdown" and has_solution(cell):
            cell.source = replace_solution(cell.source, ANSWER_STUB, keep_indent=False)
    return nb


def exercise_cells(nb):
    """Indices of the code cells that hold an exercise, in order."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and has_solution(c)]


def check_cell(nb, exercise):
    """Index of the code cell that grades the exercise in cell `exercise`: the next code cell."""
    return next(i for i in range(exercise + 1, len(nb.cells)) if nb.cells[i].cell_type == "code")


def write_atomically(nb, path):
    """Write nb to path through a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".ipynb.tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def nbgrader_tags(nb, stem):
    """The nbgrader cell metadata nb should carry: {cell index: metadata dict}.

    Exercise cells (code or markdown) are solution cells; the code cell after a code exercise
    is its autograded test (1 point); a written answer is graded by hand (1 point).
    """
    tags = {}
    for k, i in enumerate(exercise_cells(nb), 1):
        tags[i] = {"grade": False, "grade_id": f"{stem}-exercise-{k}", "locked": False,
                   "schema_version": 3, "solution": True, "task": False}
        tags[check_cell(nb, i)] = {"grade": True, "grade_id": f"{stem}-exercise-{k}-check",
                                   "locked": True, "points": 1, "schema_version": 3,
                                   "solution": False, "task": False}
    written = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and has_solution(c)]
    for k, i in enumerate(written, 1):
        tags[i] = {"grade": True, "grade_id": f"{stem}-written-{k}", "locked": False, "points": 1,
                   "schema_version": 3, "solution": True, "task": False}
    return tags


def tag():
    """Write nbgrader's cell metadata into the solution notebooks (in place, idempotent)."""
    for path in solution_paths():
        nb = nbformat.read(path, as_version=4)
        tags = nbgrader_tags(nb, path.stem[:2])
        changed = False
        for i, cell in enumerate(nb.cells):
            want = tags.get(i)
            if cell.metadata.get("nbgrader") != want:
                changed = True
                if want is None:
                    cell.metadata.pop("nbgrader")
                else:
                    cell.metadata["nbgrader"] = want
        if changed:
            write_atomically(nb, path)
        print(f"{path.name}: {len(tags)} cells tagged for nbgrader{'' if changed else ' (unchanged)'}")


def exercises():
    """Regenerate notebooks/exercises/ from the solution notebooks."""
    for path in solution_paths():
        nb = nbformat.read(path, as_version=4)
        student = student_version(nb)
        write_atomically(student, EXERCISES / path.name)
        n_code = len(exercise_cells(nb))
        n_text = sum(c.cell_type == "markdown" and has_solution(c) for c in nb.cells)
        print(f"{path.name}: {n_code} code exercises, {n_text} written questions "
              f"-> {(EXERCISES / path.name).relative_to(ROOT)}")
    stale = {p.name for p in EXERCISES.glob("*.ipynb")} - {p.name for p in solution_paths()}
    for name in sorted(stale):
        (EXERCISES / name).unlink()
        print(f"removed {name}: no solution notebook of that name")


def bank_table():
    """The answer bank as a markdown table: one row per code exercise, its right and wrong answers."""
    sys.path.insert(0, str(ROOT / "tests"))
    import grading
    rows = ["| exercise | right answers (must pass) | wrong answers (must fail) |", "|---|---|---|"]
    for path in solution_paths():
        bank = grading.load_bank(path.stem)
        for k in sorted(bank):
            right, wrong = bank[k].get("right", {}), bank[k].get("wrong", {})
            rows.append(f"| `{path.stem[:2]}-exercise-{k}` | {len(right)}: {', '.join(right)} "
                        f"| {len(wrong)}: {', '.join(wrong)} |")
    return "\n".join(rows) + "\n"


def execute(nb, timeout=300):
    """Run nb in a fresh python3 kernel from notebooks/, as the tests do; returns nb, filled."""
    from nbclient import NotebookClient

    env = {"MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def published_version(nb):
    """The executed solution notebook nb as published: outputs kept, grading metadata dropped.

    Consecutive prints to the same stream are merged into one output: the kernel splits them
    wherever its buffer happened to flush, and merging keeps re-publishing from churning.
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.metadata.pop("course", None)
        merged = []
        for out in cell.get("outputs", []):
            if (merged and out.output_type == "stream" and merged[-1].output_type == "stream"
                    and merged[-1].name == out.name):
                merged[-1].text += out.text
            else:
                merged.append(out)
        if cell.cell_type == "code":
            cell.outputs = merged
    return nb


def environment():
    """The versions that decide a notebook's printed digits: {package: version}."""
    import matplotlib
    import numpy
    import scipy
    return {"numpy": numpy.__version__, "scipy": scipy.__version__, "matplotlib": matplotlib.__version__}


def publish(names=None):
    """Execute every solution notebook (or those named) and write notebooks/published/, and
    the versions that printed them to notebooks/published/environment.json."""
    for path in solution_paths():
        if names and not any(path.name.startswith(n) for n in names):
            continue
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        execute(nb)
        seconds = time.perf_counter() - start
        write_atomically(published_version(nb), PUBLISHED / path.name)
        print(f"{path.name}: ran in {seconds:.1f} s -> {(PUBLISHED / path.name).relative_to(ROOT)}")
    import json
    PUBLISHED_WITH.write_text(json.dumps(environment(), indent=1) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("tag", help="write nbgrader's cell metadata into the solution notebooks")
    sub.add_parser("exercises", help="generate notebooks/exercises/ (student versions)")
    pub = sub.add_parser("publish", help="execute the notebooks into notebooks/published/")
    pub.add_argument("notebooks", nargs="*", help="only these (file names or their beginnings: 05)")
    sub.add_parser("all", help="exercises, then publish")
    sub.add_parser("bank", help="print the answer bank's table (docs/course.md shows it)")
    args = parser.parse_args(argv)
    if args.command == "tag":
        tag()
    if args.command in ("exercises", "all"):
        exercises()
    if args.command == "publish":
        publish(args.notebooks)
    if args.command == "all":
        publish()
    if args.command == "bank":
        print(bank_table(), end="")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:              # `python tools/course.py bank | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
