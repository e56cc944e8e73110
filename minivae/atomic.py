"""Atomic file writes: a file is either the old one or the complete new one, never half.

Every file minivae writes (checkpoints, histories, figures, downloads) is written under a
temporary name in the destination folder and renamed over the target only once complete;
on any error the temporary file is removed and the old file is left as it was.
"""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_file(path, mode="wb"):
    """Open a temporary file beside path for writing; on success it replaces path.

    with atomic_file("run/history.json", "w") as f:
        f.write(text)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)            # mkstemp makes 0600 files; give them normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
