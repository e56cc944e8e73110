"""Input checks that fail early with one InputError saying what is wrong and how to fix it."""
import os

import numpy as np

from .errors import InputError

DTYPES = ("float32", "float64")
SIGMA_RANGE = (1e-6, 1e6)     # sigma^2 and 1/sigma^2 stay ordinary float32 numbers
SMALL_BYTES = 2**28           # check_fits takes requests up to 256 MiB without asking the OS


def check_batch(x, d, name="x", dtype=None):
    """Return x as a 2-D array of shape (N, d), raising InputError if it cannot be one.

    x : array-like of shape (N, d)
    d : the number of features the model expects
    dtype : if given, the result is cast to it (models are type-stable).
    """
    try:
        x = np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise InputError(f"{name} must be an array of numbers; converting it failed: {e}") from None
    if x.ndim != 2 or x.shape[1] != d:
        raise InputError(
            f"{name} must have shape (N, {d}) (a batch of flattened examples); got shape "
            f"{x.shape}. Flatten images with x.reshape(len(x), -1).")
    if x.shape[0] == 0:
        raise InputError(f"{name} is an empty batch (shape {x.shape}); pass at least one example.")
    if not np.isfinite(x).all():
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise InputError(f"{name} holds {bad} NaN or Inf values; pass finite numbers only.")
    return x


def check_unit_interval(x, name="x"):
    """Raise InputError unless every value of x lies in [0, 1] exactly (Bernoulli targets).

    No tolerance: a probability above 1 is not a probability. The message prints the real
    extremes in full precision (float32 1 + 1e-7 is 1.0000001192092896, not "1").
    """
    if not np.all((x >= 0) & (x <= 1)):               # False for NaN too
        lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
        raise InputError(
            f"{name} must lie in [0, 1] for a Bernoulli decoder; its values run from {lo!r} to "
            f"{hi!r}. Scale uint8 pixels with x / 255, clip round-off with np.clip(x, 0, 1), or "
            "for real-valued data use likelihood='gaussian' (VAE) or 'mse' (Autoencoder).")


def check_dtype(dtype):
    """The model's float type as a numpy dtype: float32 or float64, else InputError."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise InputError(f"dtype must be one of {DTYPES}; got {dtype!r}") from None
    if dtype.name not in DTYPES:
        raise InputError(f"dtype must be one of {DTYPES}; got {dtype.name}")
    return dtype


def check_sigma(sigma):
    """A fixed Gaussian decoder's standard deviation: a real number in SIGMA_RANGE."""
    lo, hi = SIGMA_RANGE
    if (isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.integer, np.floating))
            or not lo <= sigma <= hi):
        raise InputError(f"sigma (the Gaussian decoder's standard deviation) must be a number in "
                         f"[{lo:g}, {hi:g}]; got {sigma!r}. For pixels in [0, 1], 0.1 is typical.")
    return float(sigma)


def check_sigma_range(sigma_range):
    """A learned sigma's floor (sigma_min, None) or bounds (sigma_min, sigma_max), both within
    SIGMA_RANGE and sigma_min < sigma_max; or None. Returns a list [lo, hi or None] or None."""
    if sigma_range is None:
        return None
    lo_end, hi_end = SIGMA_RANGE

    def real(v):
        return (not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating))
                and lo_end <= v <= hi_end)

    if not (isinstance(sigma_range, (list, tuple)) and len(sigma_range) == 2 and real(sigma_range[0])
            and (sigma_range[1] is None or (real(sigma_range[1]) and sigma_range[1] > sigma_range[0]))):
        raise InputError(f"sigma_range must be (sigma_min, None) (a floor) or (sigma_min, sigma_max) "
                         f"with {lo_end:g} <= sigma_min < sigma_max <= {hi_end:g}; got {sigma_range!r}")
    return [float(sigma_range[0]), None if sigma_range[1] is None else float(sigma_range[1])]


def check_beta(beta):
    """The KL weight: a finite real number >= 0, else InputError. Returns it unchanged."""
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.integer, np.floating)) \
            or not (np.isfinite(beta) and beta >= 0):
        raise InputError(f"beta (the KL weight) must be a finite number >= 0; got {beta!r}")
    return beta


def check_positive_int(value, name):
    """value as an int >= 1, else InputError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a whole number >= 1; got {value!r}")
    return int(value)


def check_fits(nbytes, what):
    """Raise InputError if nbytes of memory are more than this machine can give (memory_budget).

    The one memory check: models (networks.build_networks), samples (VAE.sample) and the
    command line's estimate of a training run (models.check_fits_in_memory) call it.
    """
    if nbytes <= SMALL_BYTES:           # reading /proc/meminfo (~0.1 ms) would cost a training step more
        return
    have = memory_budget()
    if nbytes > have:
        raise InputError(f"{what} would need {nbytes / 2**30:.1f} GiB of memory but "
                         f"{have / 2**30:.1f} GiB are available; use smaller sizes.")


def memory_budget():
    """Bytes of memory minivae may plan to use: MemAvailable (Linux), else physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30
