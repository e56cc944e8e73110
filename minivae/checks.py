"""Input checks that fail early with a message saying what is wrong and how to fix it."""
import numpy as np


def check_batch(x, d, name="x", dtype=None):
    """Return x as a 2-D array of shape (N, d), raising ValueError if it cannot be one.

    x : array-like of shape (N, d)
    d : the number of features the model expects
    dtype : if given, the result is cast to it (models are type-stable).
    """
    x = np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(
            f"{name} must have shape (N, {d}) (a batch of flattened examples); got shape "
            f"{x.shape}. Flatten images with x.reshape(len(x), -1).")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {x.shape}); pass at least one example.")
    if not np.isfinite(x).all():
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(f"{name} holds {bad} NaN or Inf values; clean the data before training.")
    return x


def check_unit_interval(x, name="x"):
    """Raise ValueError unless every value of x lies in [0, 1] (Bernoulli targets); NaN fails."""
    if not np.all((x >= 0) & (x <= 1)):               # False for NaN too
        lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
        raise ValueError(
            f"{name} must lie in [0, 1] for a Bernoulli decoder; got values in [{lo:g}, {hi:g}]. "
            "Scale uint8 pixels with x / 255, or use likelihood='gaussian' for real-valued data.")
