"""minivae's own error types.

Each is a mistake a user can make and fix (a bad option, array, data file, checkpoint or
download, or a run that diverged). The command line prints one of these as a single line
and exits with status 2. Anything else is a bug, in minivae or in code written against it,
and keeps its traceback.
"""


class MinivaeError(Exception):
    """Base class of the errors a user causes and can fix; the message says how."""


class InputError(MinivaeError, ValueError):
    """A bad argument or array: wrong shape or dtype, NaN or Inf, a value out of range."""


class DataError(MinivaeError, ValueError):
    """A data file that is missing, truncated, corrupt, or not the file its name says."""


class DownloadError(MinivaeError, RuntimeError):
    """A download failed or gave the wrong bytes; nothing was left behind."""


class CheckpointError(MinivaeError, ValueError):
    """A checkpoint file is missing, truncated, corrupt or does not match its configuration."""


class TrainingDiverged(MinivaeError, RuntimeError):
    """The loss or the gradients became NaN or Inf; the step that would have spoiled the
    parameters was not taken."""
