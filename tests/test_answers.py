"""Every exercise is graded right: the answer bank's answers get the verdicts their labels say.

For each notebook, its student version (notebooks/exercises/) runs once, from its own folder,
with every stub filled by the solution (tests/grading.py explains how each answer is then
graded as if in its own fresh kernel). The tests below read that one run:

* the student notebook, solved, runs to the end from notebooks/exercises/;
* every "right" answer in tests/answers/<notebook>.py passes its exercise's check, and every
  "wrong" one fails it (the check cell raises);
* a right answer breaks no later cell: an answer that assigns a name the notebook defined
  before the exercise and reads after it (Adam's parameter called x, where x is the data
  point) runs with the rest of the notebook after it, which must run clean;
* a check grades the answer in the cell, not one left by an earlier run: where the exercise is
  top-level code (its results are globals), every wrong answer also runs after the solution
  ran once, and must still fail;
* a wrong answer costs only its own check: with the first wrong answer of an exercise
  planted, the rest of the notebook runs and no other check fails;
* every check survives re-running: each exercise and its check run twice in a row, and once
  more from the last exercise to the first after the whole notebook ran;
* every code exercise has at least 3 wrong and 2 right answers in the bank, and the table
  of them in docs/course.md is the bank's (`python tools/course.py bank` prints it).
"""
import ast
import functools
import re
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
IDS = [p.name for p in PATHS]
MIN_WRONG, MIN_RIGHT = 3, 2


def read(path):
    return nbformat.read(path, as_version=4)


def exercises(path):
    """[(k, exercise cell index, check cell index)] of the solution notebook at path."""
    nb = read(path)
    return [(k, i, course.check_cell(nb, i)) for k, i in enumerate(course.exercise_cells(nb), 1)]


def assigned(source):
    """The names a cell assigns at its top level (not the names inside a def, lambda or comprehension)."""
    names = set()

    class Stores(ast.NodeVisitor):
        def visit_Name(self, node):
            if isinstance(node.ctx, ast.Store):
                names.add(node.id)

        def visit_FunctionDef(self, node):
            names.add(node.name)                                   # its body's names are its own

        def visit_Import(self, node):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)

        visit_ClassDef = visit_AsyncFunctionDef = visit_FunctionDef
        visit_ImportFrom = visit_Import
        def skip(self, node):                                      # a lambda's or comprehension's own names
            pass

        visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = skip

    Stores().visit(ast.parse(source))
    return names


def read_names(source):
    """Every name a cell reads, anywhere in it (an over-estimate of the globals it reads)."""
    return {node.id for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def python(source):
    """A cell's source as plain Python (IPython's magics, `%matplotlib inline`, rewritten)."""
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager().transform_cell(source)


def top_level(exercise_source):
    """True if the exercise's solution region is top-level code, so its results are globals."""
    return re.search(r"^" + re.escape(course.BEGIN), exercise_source, re.M) is not None


def plan(path):
    """The code cells to run (the student notebook, solved) and the trials, for one notebook."""
    solution, student = read(path), read(course.EXERCISES / path.name)
    code = [i for i, c in enumerate(student.cells) if c.cell_type == "code"]
    position = {i: n for n, i in enumerate(code)}
    exercise_of = {i: k for k, i, _ in exercises(path)}
    cells = [solution.cells[i].source if i in exercise_of else student.cells[i].source for i in code]
    bank = grading.load_bank(path.stem)
    trials, rerun = [], []
    for k, i, c in exercises(path):
        ex, check = solution.cells[i].source, solution.cells[c].source
        answers = bank.get(k, {})
        rest = [(j, student.cells[j].source if j not in exercise_of else solution.cells[j].source)
                for j in code if j > i]
        defined_before = set().union(*(assigned(python(cells[position[j]])) for j in code if j < i))
        read_after = set().union(*(read_names(python(source)) for _, source in rest))
        for kind in ("right", "wrong"):
            for label, answer in answers.get(kind, {}).items():
                planted = course.plant(ex, answer)
                trials.append({"id": f"{k}:{kind}:{label}", "at": position[i],
                               "cells": [("exercise", planted), ("check", check)]})
                if kind == "right" and assigned(python(planted)) & defined_before & read_after:
                    trials.append({"id": f"{k}:right:{label}:rest", "at": position[i],   # it reuses a name
                                   "cells": [(i, planted)] + rest})                    # read later
                if kind == "wrong" and top_level(ex):
                    trials.append({"id": f"{k}:wrong:{label}:after the solution", "at": position[i],
                                   "cells": [("solution", ex), ("exercise", planted), ("check", check)]})
        wrong = list(answers.get("wrong", {}).values())
        if wrong:
            trials.append({"id": f"{k}:isolated", "at": position[i],
                           "cells": [(i, course.plant(ex, wrong[0]))] + rest})
        trials.append({"id": f"{k}:twice", "at": position[i],
                       "cells": [("exercise", ex), ("exercise", ex), ("check", check), ("check", check)]})
        rerun = [(f"exercise {k}", ex), (f"check {k}", check), (f"check {k}", check)] + rerun
    trials.append({"id": "rerun", "at": len(cells), "cells": rerun})
    return cells, trials


@functools.lru_cache(maxsize=None)
def graded(path):
    """The driver's report for the notebook at path (run once per test session)."""
    cells, trials = plan(path)
    return grading.run_notebook(cells, trials, cwd=course.EXERCISES)


def errors(results):
    return [(label, error, message) for label, error, message in results if error is not None]


def answer_cases():
    cases = []
    for path in PATHS:
        bank = grading.load_bank(path.stem)
        for k, _, _ in exercises(path):
            for kind in ("right", "wrong"):
                for label in bank.get(k, {}).get(kind, {}):
                    cases.append(pytest.param(path, k, kind, label, id=f"{path.stem}-{k}-{kind}-{label}"))
    return cases


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_the_bank_covers_every_exercise(path):
    bank = grading.load_bank(path.stem)
    numbers = [k for k, _, _ in exercises(path)]
    assert sorted(bank) == numbers, f"{path.stem}: bank exercises {sorted(bank)}, notebook's {numbers}"
    for k in numbers:
        n_wrong, n_right = len(bank[k].get("wrong", {})), len(bank[k].get("right", {}))
        assert n_wrong >= MIN_WRONG and n_right >= MIN_RIGHT, (
            f"{path.stem} exercise {k}: {n_wrong} wrong and {n_right} right answers in "
            f"tests/answers/{path.stem}.py; it needs {MIN_WRONG} and {MIN_RIGHT}")


def test_the_instructors_page_shows_the_bank_as_it_is():
    page = (ROOT / "docs" / "course.md").read_text(encoding="utf-8")
    assert course.bank_table() in page, (
        "docs/course.md's table of the answer bank is stale: paste `python tools/course.py bank` into it")
    banks = [grading.load_bank(p.stem) for p in PATHS]
    right = sum(len(e["right"]) for b in banks for e in b.values())
    wrong = sum(len(e["wrong"]) for b in banks for e in b.values())
    code = sum(len(b) for b in banks)
    written = sum(c.cell_type == "markdown" and course.has_solution(c) for p in PATHS for c in read(p).cells)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for claim in (f"{right} right and {wrong} wrong answers", f"{code} code exercises, {written} written answers"):
        assert claim in readme, f"the README's course paragraph should say '{claim}'"
    assert f"{code} code exercises and {written} written answers" in page


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_the_solved_student_notebook_runs_to_the_end_from_its_own_folder(path):
    assert not errors(graded(path)["main"]), errors(graded(path)["main"])


@pytest.mark.parametrize("path, k, kind, label", answer_cases())
def test_each_answer_gets_its_verdict(path, k, kind, label):
    results = graded(path)[f"{k}:{kind}:{label}"]
    (_, ex_error, ex_message), (_, check_error, check_message) = results
    if kind == "right":
        assert ex_error is None and check_error is None, (
            f"a right answer failed: {results}")
    else:
        assert check_error is not None, f"a wrong answer passed the check of exercise {k}"
    later = graded(path).get(f"{k}:right:{label}:rest")
    if later is not None:                          # the answer reuses a name later cells read
        assert not errors(later), f"a right answer broke the cells after exercise {k}: {errors(later)}"
    stale = graded(path).get(f"{k}:wrong:{label}:after the solution")
    if stale is not None:                          # a top-level exercise: results are globals
        assert stale[-1][1] is not None, (
            f"a wrong answer passed the check of exercise {k} after the solution had run: the check "
            f"graded the results an earlier run left behind")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_a_wrong_answer_costs_only_its_own_check(path):
    checks = {c: k for k, _, c in exercises(path)}
    report = graded(path)
    for k, i, c in exercises(path):
        if f"{k}:isolated" not in report:
            continue
        failed = {label for label, error, _ in report[f"{k}:isolated"] if error is not None}
        assert c in failed, f"exercise {k}'s first wrong answer passed its check"
        others = sorted(checks[j] for j in failed & set(checks) if j != c)
        assert not others, (f"exercise {k}'s first wrong answer also fails the checks of exercises "
                            f"{others}: one mistake must cost one exercise")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_every_check_survives_rerunning(path):
    report = graded(path)
    for k, _, _ in exercises(path):
        assert not errors(report[f"{k}:twice"]), (f"exercise {k} run twice, then its check twice: "
                                                  f"{errors(report[f'{k}:twice'])}")
    assert not errors(report["rerun"]), f"re-running exercises last to first: {errors(report['rerun'])}"
