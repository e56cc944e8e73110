"""The command line a newcomer meets: nothing overwritten unasked, progress on long commands,
help that is the reference, and one clear line for a surprising value.

* every command that writes (train, sample, evaluate --out, figures) leaves an existing
  file as it was without --overwrite, and writes by default into the run's own folder;
* training, importance-sampled evaluation, figures and downloads report progress (what, how
  far, time left) on stderr when asked or on a terminal, and print none into a pipe unasked;
* every option of every subcommand has help text that shows its default, and docs/cli.md's
  usage block names exactly the parser's options;
* a batch larger than the data, an absurd epoch count, more test examples than there are:
  exit status 2 and one line that says what to give instead;
* (Ctrl-C / SIGTERM: tests/test_reliability.py.)
"""
import argparse
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from minivae.app import cli, figures
from minivae.app.cli import main
from minivae.app.progress import Progress, seconds_text, wanted

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--hidden", "16", "--latent-dim", "2", "--batch-size", "500"]


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r"
    assert main(["train", "--out", str(out), "--epochs", "1", "--no-figures", "--quiet", *TINY]) == 0
    return out


def one_error_line(capsys, command):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith(f"minivae {command}: error:")]
    assert len(lines) == 1, err
    return lines[0]


# --- nothing the user did not name is overwritten -----------------------------------------

def test_sample_writes_into_the_run_folder_by_default_and_never_over_a_file(run, tmp_path, capsys,
                                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)                                    # the user's current folder
    assert main(["sample", str(run), "--n", "4"]) == 0
    png = run / "samples-n4-seed0.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and not list(tmp_path.iterdir())
    before = digest(png)
    assert main(["sample", str(run), "--n", "4", "--seed", "0"]) == 2
    assert "--overwrite" in one_error_line(capsys, "sample") and digest(png) == before
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"my own picture")
    assert main(["sample", str(run), "--n", "4", "--out", str(mine)]) == 2
    assert mine.read_bytes() == b"my own picture"
    capsys.readouterr()
    assert main(["sample", str(run), "--n", "4", "--out", str(mine), "--overwrite"]) == 0
    assert mine.read_bytes()[:4] == b"\x89PNG"


def test_evaluate_writes_its_json_only_where_asked_and_never_over_a_file(run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["evaluate", str(run), "--n-examples", "20", "--out", str(out)]) == 0
    assert '"negative_elbo"' in out.read_text()
    out.write_text("kept")
    assert main(["evaluate", str(run), "--n-examples", "20", "--out", str(out)]) == 2
    assert "already exists" in one_error_line(capsys, "evaluate") and out.read_text() == "kept"
    assert main(["evaluate", str(run), "--n-examples", "20", "--out", str(out), "--overwrite"]) == 0
    assert '"negative_elbo"' in out.read_text()


def test_figures_default_out_is_not_the_repositorys_tracked_folder():
    parser = cli._parser()
    args = parser.parse_args(["figures"])
    assert Path(args.out) == Path(cli.FIGURES_OUT) and Path(args.out).resolve() != (ROOT / "figures").resolve()


def test_figures_refuses_before_any_work_to_replace_a_figure(tmp_path, capsys, monkeypatch):
    (tmp_path / "samples.png").write_bytes(b"mine")
    monkeypatch.setattr(figures, "make_all_figures", lambda *a, **k: pytest.fail("it started working"))
    assert main(["figures", "--out", str(tmp_path)]) == 2
    assert "--overwrite" in one_error_line(capsys, "figures")
    assert (tmp_path / "samples.png").read_bytes() == b"mine"


def test_train_refuses_a_folder_that_holds_a_run(run, capsys):
    before = digest(run / "checkpoint.npz")
    assert main(["train", "--out", str(run), "--epochs", "1", "--no-figures", "--quiet", *TINY]) == 2
    assert "--overwrite" in one_error_line(capsys, "train") and digest(run / "checkpoint.npz") == before


@pytest.mark.parametrize("argv", [
    ["train", "--out", "/proc/minivae-no/run", "--epochs", "1", "--no-figures", "--quiet", *TINY],
    ["sample", "{run}", "--out", "/proc/minivae-no.png"],
    ["evaluate", "{run}", "--n-examples", "5", "--out", "/proc/minivae-no.json"],
])
def test_an_unwritable_destination_is_one_line(argv, run, capsys):
    assert main([a.replace("{run}", str(run)) for a in argv]) == 2
    one_error_line(capsys, argv[0])


# --- progress --------------------------------------------------------------------------------

def _cli(*args, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "minivae", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_training_and_evaluation_report_progress_when_asked_and_not_into_a_pipe(tmp_path):
    asked = _cli("train", "--out", str(tmp_path / "a"), "--epochs", "2", "--no-figures", "--progress", *TINY)
    assert asked.returncode == 0, asked.stderr
    assert "epoch 1/2 [" in asked.stderr and re.search(r"about \d+ s left", asked.stderr)
    piped = _cli("train", "--out", str(tmp_path / "b"), "--epochs", "1", "--no-figures", *TINY)
    assert piped.returncode == 0 and "[" not in piped.stderr and "\r" not in piped.stderr
    asked = _cli("evaluate", str(tmp_path / "a"), "--iw-samples", "20", "--n-examples", "300", "--progress")
    assert asked.returncode == 0, asked.stderr
    assert "log p(x), IW-20: 300/300 examples" in asked.stderr and "elapsed" in asked.stderr
    quiet = _cli("evaluate", str(tmp_path / "a"), "--iw-samples", "20", "--n-examples", "300", "--quiet",
                 "--progress")
    assert quiet.returncode == 0 and "IW-20:" not in quiet.stderr


def test_progress_says_how_far_and_how_long_is_left(capsys):
    class Terminal:
        text = ""

        def write(self, s):
            self.text += s

        def flush(self):
            pass

        def isatty(self):
            return True

    screen = Terminal()
    bar = Progress("work", 200, "items", stream=screen, every=0)
    bar.update(50)
    assert "50/200 items" in screen.text and " left" in screen.text
    bar.update(200)
    bar.close()
    assert screen.text.endswith("\n") and "200/200 items" in screen.text
    assert wanted(stream=screen) and not wanted(quiet=True, stream=screen)
    assert not wanted(stream=open(os.devnull, "w")) and wanted(force=True, stream=open(os.devnull, "w"))
    assert [seconds_text(s) for s in (4, 185, 7800)] == ["4 s", "3 min 05 s", "2 h 10 min"]


def test_a_download_reports_its_bytes(tmp_path):
    import http.server
    import threading
    import gzip
    from minivae.app import download

    payload = gzip.compress(b"x" * 200_000)
    (tmp_path / "f.gz").write_bytes(payload)
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen = []
    try:
        download.fetch(f"http://127.0.0.1:{server.server_port}/f.gz", tmp_path / "got" / "f.gz",
                       hashlib.sha256(b"x" * 200_000).hexdigest(), progress=lambda done, size: seen.append((done, size)))
    finally:
        server.shutdown()
    assert seen and seen[-1] == (len(payload), len(payload)) and [d for d, _ in seen] == sorted(d for d, _ in seen)


# --- help is the reference -------------------------------------------------------------------

def _subparsers():
    parser = cli._parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_every_option_of_every_command_has_help_that_shows_its_default():
    missing = [f"{name} {action.option_strings[0]}" for name, sub in _subparsers().items()
               for action in sub._actions if action.option_strings and not isinstance(action, argparse._HelpAction)
               and not (action.help and "default" in action.help)]
    assert not missing, f"options whose --help shows no default: {missing}"


def test_the_docs_usage_block_names_exactly_the_parsers_options():
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    block = page[page.index("```\nminivae train"):]
    block = block[:block.index("\n```", 4)]
    usage = {}
    for line in block.splitlines()[1:]:
        if line.startswith("minivae "):
            command = line.split()[1]
        usage.setdefault(command, set()).update(re.findall(r"\[(--[a-z0-9-]+)", line))
    for name, sub in _subparsers().items():
        options = {a.option_strings[0] for a in sub._actions
                   if a.option_strings and not isinstance(a, argparse._HelpAction)}
        assert usage.get(name) == options, (f"docs/cli.md's usage of {name}: missing "
                                            f"{sorted(options - usage.get(name, set()))}, extra "
                                            f"{sorted(usage.get(name, set()) - options)}")


# --- surprising values -------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["train", "--batch-size", "100000", "--no-figures"], "larger than the 10,000 training images"),
    (["train", "--epochs", "1000000000000", "--no-figures"], "at most 100,000"),
    (["evaluate", "{run}", "--n-examples", "999999"], "more than the 2,000 test examples"),
    (["evaluate", "{run}", "--iw-samples", "10000000"], "at most 1,000,000"),
    (["sample", "{run}", "--n", "5000"], "at most 1,024"),
    (["figures", "--epochs", "5000", "--out", "{tmp}"], "at most 1,000"),
])
def test_a_surprising_value_is_refused_in_one_line(argv, message, run, tmp_path, capsys):
    argv = [a.replace("{run}", str(run)).replace("{tmp}", str(tmp_path / "f")) for a in argv]
    assert main(argv) == 2
    assert message in one_error_line(capsys, argv[0])


def test_figures_help_epochs_bound_is_the_one_enforced():
    assert f"1 to {figures.MAX_FIGURE_EPOCHS}" in next(
        a.help for a in _subparsers()["figures"]._actions if "--epochs" in a.option_strings)

# Interruption (Ctrl-C or SIGTERM says once what was written and how to continue):
# tests/test_reliability.py, test_a_signal_during_training_leaves_a_resumable_run_and_no_leftovers.
