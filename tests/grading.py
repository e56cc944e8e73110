r"""Grading the grading: run a student notebook with answers from the answer bank planted in it.

The answer bank (tests/answers/<notebook stem>.py) holds, for every code exercise k of a
notebook (nbgrader grade_id "NN-exercise-k"), answers that must pass its check ("right":
other correct ways to write it) and answers that must fail it ("wrong": mistakes students
make). Each answer is the code that replaces the exercise's solution region.

How a notebook is run (`run_notebook`):

* The *student* notebook (notebooks/exercises/NN.ipynb), with every stub filled by the
  solution, runs top to bottom in one fresh Python process, **from notebooks/exercises/**
  (its own folder), in an IPython shell (magics and display work as in a kernel).
* Just before an exercise cell runs, the process forks once per trial. A fork holds exactly
  the state a fresh kernel has after running the notebook from the top to that point (every
  earlier exercise solved), so each answer is graded as if in its own fresh kernel, and no
  answer can see another. The fork runs its cells (the exercise with the answer planted,
  then its check, or more: see `trials`), reports which raised, and exits.
* After the last cell, one more fork re-runs every exercise and its check, last to first,
  each twice: a check must survive re-running cells in any order.

A run returns, per trial, the error name (or None) of each cell it ran; tests/test_answers.py
turns that into verdicts. The driver is this file itself: `python grading.py PLAN RESULT`.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = ROOT / "tests" / "answers"
CHILD_TIMEOUT = 300                          # seconds one trial may take before it counts as hung


def load_bank(stem):
    """The answer bank of notebook `stem` (e.g. "01_autoencoders"): {k: {"right": {label: code},
    "wrong": {label: code}}}, k the exercise number."""
    path = ANSWERS / f"{stem}.py"
    namespace = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    return namespace["ANSWERS"]


# --- the driver: runs in its own process ---------------------------------------------------

def _run_cells(shell, cells):
    """Run [(label, source), ...] in shell; returns [[label, error name or None, message]]."""
    results = []
    for label, source in cells:
        result = shell.run_cell(source, store_history=False, silent=False)
        error = result.error_before_exec or result.error_in_exec
        results.append([label, None if error is None else type(error).__name__,
                        None if error is None else str(error)[:500]])
    return results


def _fork_trial(shell, trial, report):
    """Run trial["cells"] in a forked copy of this process; append its result to report."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                                       # the child
        os.close(read_end)
        signal.alarm(CHILD_TIMEOUT)
        try:
            out = _run_cells(shell, trial["cells"])
        except BaseException as e:                                     # the alarm, or worse
            out = [["?", type(e).__name__, str(e)[:500]]]
        with os.fdopen(write_end, "w") as f:
            json.dump(out, f)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as f:
        text = f.read()
    _, status = os.waitpid(pid, 0)
    report[trial["id"]] = json.loads(text) if text else [["?", "ChildDied", f"status {status}"]]


def drive(plan_path, result_path):
    """Execute a plan written by run_notebook; write {trial id: cell results} as JSON."""
    plan = json.loads(Path(plan_path).read_text())
    os.chdir(plan["cwd"])
    sys.path.insert(0, plan["cwd"])
    out_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)                      # cells print a lot; nobody reads it
    os.dup2(devnull, 2)
    from IPython.core.interactiveshell import InteractiveShell
    InteractiveShell.enable_gui = lambda self, gui=None: None    # no event loop: %matplotlib inline
    shell = InteractiveShell.instance(colors="nocolor")
    report = {}
    trials_at = {}
    for trial in plan["trials"]:
        trials_at.setdefault(trial["at"], []).append(trial)
    cells = plan["cells"]
    for i in range(len(cells) + 1):
        for trial in trials_at.get(i, []):
            _fork_trial(shell, trial, report)
        if i < len(cells):
            report.setdefault("main", []).extend(_run_cells(shell, [(i, cells[i])]))
    Path(result_path).write_text(json.dumps(report))
    os.close(out_fd)


# --- the orchestration: runs in pytest -----------------------------------------------------

def run_notebook(cells, trials, cwd, timeout=1800):
    """Run code `cells` (a list of sources) with `trials` in one driver process from `cwd`.

    trials : [{"id": str, "at": cell index to fork before, "cells": [(label, source), ...]}]
    Returns {"main": [[cell index, error, message], ...], trial id: [[label, error, message]]}.
    """
    with tempfile.TemporaryDirectory() as tmp:
        plan, result = Path(tmp) / "plan.json", Path(tmp) / "result.json"
        plan.write_text(json.dumps({"cells": cells, "trials": trials, "cwd": str(cwd)}))
        env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                   MKL_NUM_THREADS="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        done = subprocess.run([sys.executable, __file__, str(plan), str(result)], env=env,
                              timeout=timeout, capture_output=True, text=True)
        if done.returncode != 0 or not result.exists():
            raise RuntimeError(f"the grading driver failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        return json.loads(result.read_text())


if __name__ == "__main__":
    drive(sys.argv[1], sys.argv[2])
