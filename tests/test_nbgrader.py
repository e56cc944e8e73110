"""nbgrader, for real: the course built from the sources, released, and autograded.

An nbgrader course folder is built in a temporary directory, as docs/course.md tells an
instructor: every solution notebook in source/minivae/, tools/nbgrader_config.py beside it.

* `nbgrader generate_assignment minivae` releases the assignment. Every released notebook
  is, cell by cell, the student version in notebooks/exercises/; it holds no solution line
  and no cell metadata but nbgrader's.
* `nbgrader autograde minivae` grades two submissions: "solver" hands in the solutions and
  gets every autograded point; "one-mistake" hands in each notebook with exercise 1 answered
  by the first wrong answer of tests/answers/<notebook>.py, and loses exactly that
  exercise's point, NN-exercise-1-check, and no other.

The two submissions are graded in two course folders side by side (one gradebook each).
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests"))
import course    # noqa: E402
import grading   # noqa: E402

PATHS = course.solution_paths()
ASSIGNMENT = "minivae"
ALLOWED_METADATA = {"nbgrader", "tags", "editable", "deletable", "jp-MarkdownHeadingCollapsed"}


def nbgrader(folder, *args):
    """Run `nbgrader ARGS` in the course folder; fail the test with its log if it fails."""
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process, what):
    out, _ = process.communicate(timeout=1800)
    assert process.returncode == 0, f"nbgrader {what} failed (exit {process.returncode}):\n{out[-4000:]}"
    return out


def one_mistake(path):
    """The solution notebook at path with exercise 1 answered by the bank's first wrong answer."""
    nb = nbformat.read(path, as_version=4)
    first = course.exercise_cells(nb)[0]
    wrong = next(iter(grading.load_bank(path.stem)[1]["wrong"].values()))
    nb.cells[first].source = course.plant(nb.cells[first].source, wrong)
    return nb


def scores(folder, student):
    """{(notebook, grade_id): (score, max score, needs manual grading)} from the gradebook."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gb:
        submission = gb.find_submission(ASSIGNMENT, student)
        return {(nb.name, g.name): (g.auto_score, g.max_score, g.needs_manual_grade)
                for nb in submission.notebooks for g in nb.grades}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """Release the course, then autograde both submissions; returns the two course folders."""
    base = tmp_path_factory.mktemp("nbgrader")
    folders = {}
    for student in ("solver", "one-mistake"):
        folder = base / student
        (folder / "source" / ASSIGNMENT).mkdir(parents=True)
        shutil.copy(ROOT / "tools" / "nbgrader_config.py", folder)
        for path in PATHS:
            shutil.copy(path, folder / "source" / ASSIGNMENT / path.name)
        folders[student] = folder
    for student, folder in folders.items():
        finish(nbgrader(folder, "generate_assignment", ASSIGNMENT, "--force"), "generate_assignment")
        handed_in = folder / "submitted" / student / ASSIGNMENT
        handed_in.mkdir(parents=True)
        for path in PATHS:
            nb = nbformat.read(path, as_version=4) if student == "solver" else one_mistake(path)
            nbformat.write(nb, handed_in / path.name)
    running = [nbgrader(folder, "autograde", ASSIGNMENT, "--force") for folder in folders.values()]
    for process in running:
        finish(process, "autograde")
    return folders


def solution_lines(nb):
    """The lines inside solution regions that appear nowhere outside them (stripped, >= 8 chars)."""
    inside, outside = set(), set()
    for cell in nb.cells:
        region = False
        for line in cell.source.split("\n"):
            if course.BEGIN in line:
                region = True
            elif course.END in line:
                region = False
            elif len(line.strip()) >= 8:
                (inside if region else outside).add(line.strip())
    return inside - outside


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_the_release_is_the_student_version_and_holds_no_answer(graded_course, path):
    released = nbformat.read(graded_course["solver"] / "release" / ASSIGNMENT / path.name, as_version=4)
    student = nbformat.read(course.EXERCISES / path.name, as_version=4)
    assert [c.source for c in released.cells] == [c.source for c in student.cells], (
        f"nbgrader's release of {path.name} differs from notebooks/exercises/{path.name}")
    text = "\n".join(c.source for c in released.cells)
    leaked = sorted(line for line in solution_lines(nbformat.read(path, as_version=4)) if line in text)
    assert not leaked, f"the release of {path.name} holds solution lines: {leaked[:5]}"
    assert course.BEGIN not in text and course.END not in text
    extra = sorted({key for c in released.cells for key in c.metadata} - ALLOWED_METADATA)
    assert not extra, f"the release of {path.name} carries cell metadata {extra}"
    assert all(not c.get("outputs") for c in released.cells if c.cell_type == "code")


def test_the_solutions_get_every_autograded_point(graded_course):
    got = scores(graded_course["solver"], "solver")
    checks = {key: v for key, v in got.items() if not v[2]}
    assert len(checks) == sum(len(course.exercise_cells(nbformat.read(p, as_version=4))) for p in PATHS)
    lost = {key: v for key, v in checks.items() if v[0] != v[1]}
    assert not lost, f"the solutions lose points: {lost}"
    written = [key for key, v in got.items() if v[2]]
    assert written and all("written" in grade_id for _, grade_id in written)   # graded by hand


def test_one_mistake_costs_exactly_its_exercise(graded_course):
    got = scores(graded_course["one-mistake"], "one-mistake")
    lost = sorted(key for key, (score, most, manual) in got.items() if not manual and score != most)
    want = sorted((p.stem, f"{p.stem[:2]}-exercise-1-check") for p in PATHS)
    assert lost == want, f"points lost {lost}; only each notebook's exercise 1 should lose its point"
    assert all(got[key][0] == 0 for key in want)
