"""The exercises grade: a student notebook fails where it should, and passes once solved.

The solution notebooks pass (tests/test_notebooks.py runs them). Here:
* every generated student notebook, run as generated, stops at its first exercise with
  NotImplementedError (in the exercise cell, or in its check cell when the exercise is a
  function the check calls), so the grading really depends on the student's code;
* the sources carry no answers beyond their solution regions (no cell metadata but
  nbgrader's), so nothing but the solutions can leak into a release;
* notebooks/exercises/ is exactly what `python tools/course.py exercises` generates.
Answers tried against every check, and student notebooks run to the end: tests/test_answers.py.
"""
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import course  # noqa: E402

PATHS = course.solution_paths()
IDS = [p.name for p in PATHS]
REGENERATE = "; run `python tools/course.py exercises` and commit notebooks/exercises/"


def read(path):
    return nbformat.read(path, as_version=4)


def failing_cell(nb, stop):
    """Run nb.cells[:stop + 1]; return (index, error name) of the cell that raised, or None."""
    run = nbformat.v4.new_notebook(cells=nb.cells[: stop + 1], metadata=nb.metadata)
    try:
        course.execute(run)
    except CellExecutionError:
        for i, cell in enumerate(run.cells):
            for out in cell.get("outputs", []):
                if out.output_type == "error":
                    return i, out.ename
        raise
    return None


# --- the generator ----------------------------------------------------------------------

def test_code_solution_becomes_a_stub_with_its_indentation_and_the_rest_kept():
    source = ("def f(x):\n"
              "    y = 2 * x   # kept\n"
              "    ### BEGIN SOLUTION\n"
              "    z = y + 1\n"
              "    return z\n"
              "    ### END SOLUTION\n"
              "\n"
              "print(f(1))")
    assert course.replace_solution(source, course.CODE_STUB) == (
        "def f(x):\n    y = 2 * x   # kept\n    raise NotImplementedError()\n\nprint(f(1))")


def test_markdown_answer_becomes_your_answer_here_and_the_question_stays():
    cell = nbformat.v4.new_markdown_cell("**Question.** Why?\n\n### BEGIN SOLUTION\n"
                                         "Because.\n### END SOLUTION")
    code = nbformat.v4.new_code_cell("x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION")
    code.outputs = [nbformat.v4.new_output("stream", text="2\n")]
    code.execution_count = 3
    code.metadata["course"] = {"wrong": "y = 3"}
    student = course.student_version(nbformat.v4.new_notebook(cells=[cell, code]))
    assert student.cells[0].source == "**Question.** Why?\n\nYOUR ANSWER HERE"
    assert student.cells[1].source == "x = 1\nraise NotImplementedError()"
    assert student.cells[1].outputs == [] and student.cells[1].execution_count is None
    assert "course" not in student.cells[1].metadata          # the planted answer stays hidden


def test_plant_replaces_only_the_solution_region_at_its_indentation():
    source = "for i in range(2):\n    ### BEGIN SOLUTION\n    y = i\n    ### END SOLUTION\nz = 0"
    assert course.plant(source, "y = -i\nw = 1") == "for i in range(2):\n    y = -i\n    w = 1\nz = 0"


def test_a_solution_without_end_marker_is_an_error():
    with pytest.raises(ValueError, match="END SOLUTION"):
        course.replace_solution("### BEGIN SOLUTION\nx = 1", course.CODE_STUB)


# --- the course as committed ------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_student_version_is_generated_from_the_solution(path):
    committed = course.EXERCISES / path.name
    assert committed.exists(), f"no student version of {path.name}{REGENERATE}"
    assert read(committed) == course.student_version(read(path)), f"{committed.name} is stale{REGENERATE}"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_exercises_carry_nbgrader_metadata(path):
    nb = read(path)
    tags = course.nbgrader_tags(nb, path.stem[:2])
    stale = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader") != tags.get(i)]
    assert not stale, f"{path.name}: cells {stale} lack nbgrader metadata; run `python tools/course.py tag`"


def test_no_student_version_without_a_solution_notebook():
    orphans = {p.name for p in course.EXERCISES.glob("*.ipynb")} - set(IDS)
    assert not orphans, f"{sorted(orphans)} have no solution notebook{REGENERATE}"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_every_notebook_has_graded_exercises(path):
    nb = read(path)
    code = course.exercise_cells(nb)
    written = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and course.has_solution(c)]
    assert 2 <= len(code) + len(written), f"{path.name}: {len(code) + len(written)} exercises; a notebook needs at least 2"
    assert code, f"{path.name}: no code exercise"
    for i in code:
        check = nb.cells[course.check_cell(nb, i)].source
        assert "assert" in check, f"{path.name}: the cell after exercise cell {i} checks nothing"



@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_student_notebook_as_generated_fails_at_its_first_exercise(path):
    student = course.student_version(read(path))
    first = course.exercise_cells(read(path))[0]
    check = course.check_cell(student, first)
    # a step written inline fails in its own cell; a function to write fails when its check calls it
    where, error = failing_cell(student, check)
    assert error == "NotImplementedError" and where in (first, check), (where, error)


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_sources_carry_no_metadata_but_nbgraders(path):
    extra = {(i, key) for i, c in enumerate(read(path).cells) for key in c.metadata
             if key not in ("nbgrader", "tags", "editable", "deletable", "jp-MarkdownHeadingCollapsed")}
    assert not extra, (f"{path.name}: cell metadata {sorted(extra)}; answers to try belong in "
                       f"tests/answers/{path.stem}.py, never in a notebook a student receives")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_notebooks_use_the_textbook_forms_not_the_speed_rewrites(path):
    """What a student reads imports minivae's textbook forms (optim.Adam, conv.Conv2D), never
    minivae.fast (the rewrites training uses, tested equal to them)."""
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "minivae.fast" not in code and "FastAdam" not in code and "GatherConv2D" not in code, \
        f"{path.name} imports a speed rewrite from minivae.fast; use the textbook form"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_notebooks_import_the_math_and_the_top_level_api_not_the_application(path):
    """minivae.app (command line, checkpoint files, downloads) may move; what a notebook needs
    from it is exported by minivae itself (minivae.load_checkpoint)."""
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "minivae.app" not in code and "from .app" not in code, \
        f"{path.name} imports from minivae.app; use what minivae exports (e.g. minivae.load_checkpoint)"


def test_the_instructors_page_names_each_function_as_the_notebook_defines_it():
    """docs/course.md's table writes each function exercise as `name(args)`: its notebook's signature."""
    import re

    def arg_names(args):
        return [a.split("=")[0].strip() for a in args.split(",") if a.strip()]

    defined = {}                                          # notebook number "07": {name: argument names}
    for path in PATHS:
        code = "\n".join(c.source for c in read(path).cells if c.cell_type == "code")
        defined[path.name[:2]] = {name: arg_names(args) for name, args in re.findall(r"^def (\w+)\(([^)]*)\)", code, re.M)}
    page = (ROOT / "docs" / "course.md").read_text()
    rows = re.findall(r"^\| `((\d\d)-exercise-\d)` \| `(\w+)\(([^)]*)\)`", page, re.M)
    assert len(rows) >= 15, "the page's exercise table was not found"
    for exercise, notebook, name, args in rows:
        assert name in defined[notebook], f"docs/course.md, {exercise}: notebook {notebook} defines no {name}"
        assert arg_names(args) == defined[notebook][name], (
            f"docs/course.md, {exercise}: {name}({args}), but notebook {notebook} has {name}({', '.join(defined[notebook][name])})")
