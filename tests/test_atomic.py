"""Tests for minivae.app.atomic: whole files or none, the umask's permissions, SIGTERM clean-up."""
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from minivae.app.atomic import Terminated, atomic_file, sigterm_raises

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def umask():
    """Set the process umask for one test; the old one is restored afterwards."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o077, 0o600), (0o022, 0o644), (0o002, 0o664),
                                        (0o027, 0o640)])
def test_new_files_get_the_permissions_the_umask_gives(tmp_path, umask, mask, mode):
    umask(mask)
    with atomic_file(tmp_path / "a.bin") as f:
        f.write(b"x")
    with open(tmp_path / "plain.bin", "wb") as f:              # what open() gives
        f.write(b"x")
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "plain.bin").stat().st_mode) == mode


def test_a_replaced_file_gets_the_umask_permissions_too(tmp_path, umask):
    umask(0o077)
    path = tmp_path / "history.json"
    path.write_text("old")
    path.chmod(0o644)
    with atomic_file(path, "w") as f:
        f.write("new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_error_in_the_block_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_file(path) as f:
            f.write(b"half of the new")
            raise RuntimeError("boom")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz"]


def test_text_mode_writes_utf8_and_the_suffix_names_the_temporary(tmp_path):
    seen = []
    with atomic_file(tmp_path / "t.txt", "w", suffix=".part") as f:
        seen = [p.name for p in tmp_path.iterdir()]
        f.write("σ = exp(½ log_var)")
    assert len(seen) == 1 and seen[0].startswith(".t.txt.") and seen[0].endswith(".part")
    assert (tmp_path / "t.txt").read_bytes() == "σ = exp(½ log_var)".encode("utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_sigterm_raises_terminated_inside_and_is_default_again_after():
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    with pytest.raises(Terminated) as info:
        with sigterm_raises():
            with sigterm_raises():                              # nested: one handler
                signal.raise_signal(signal.SIGTERM)
                time.sleep(1)                                   # the handler runs first
    assert info.value.code == 128 + signal.SIGTERM
    assert isinstance(info.value, SystemExit)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_programs_own_sigterm_handler_is_left_alone():
    def mine(signum, frame):
        pass
    old = signal.signal(signal.SIGTERM, mine)
    try:
        with sigterm_raises():
            assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, old)


def test_sigterm_while_writing_removes_the_temporary_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(b"old")
    child = textwrap.dedent(f"""
        import sys, time
        from minivae.app.atomic import atomic_file
        with atomic_file({str(path)!r}) as f:
            f.write(b"half")
            print("writing", flush=True)
            time.sleep(30)
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline() == b"writing\n"
        assert len(list(tmp_path.iterdir())) == 2               # the old file + a temporary
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]
