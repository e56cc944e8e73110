r"""Checkpoints: one .npz file a plain ``numpy.load(path, allow_pickle=False)`` can read.

Layout (format "minivae-checkpoint-2"):
         "format"              the string "minivae-checkpoint-2"
         "config"              a JSON string: everything needed to rebuild the model
         "history"             a JSON string: the run's settings ("run") and its per-epoch
                               loss parts; the source of truth for history.json
         "param/<name>"        one array per entry of model.params, e.g. "param/encoder.0.W"
         "state"               (resumable checkpoints) a JSON string: the epoch reached, the
                               optimizer's settings and step count, the Generator's state
         "optim/<slot>/<name>" (resumable checkpoints) the optimizer's arrays: Adam's "m"
                               and "v", SGD's "velocity", one per parameter

Checkpoints of format "minivae-checkpoint-1" (no "state") still load for evaluation and
sampling; they cannot be resumed.

Saving is atomic: the file is written under a temporary name in the same folder and then
renamed over the target, so a crash mid-write never leaves a half-written checkpoint in
place of a good one.

Loading trusts nothing in the file. Before any array is read, every member's declared
shape and dtype are read from its .npy header and checked against what the configuration
implies (so a 200-byte file cannot make minivae allocate 373 GiB); the configuration's
types and ranges are checked before a model is built; parameters must be finite.
"""
import json
import math
import zipfile
from pathlib import Path

import numpy as np

from .atomic import atomic_file
from ..errors import CheckpointError, InputError
from ..fast.optim import FastAdam
from ..models import _is_int, _is_real, build_model, check_config, parameter_count
from ..optim import SGD, Adam

FORMAT = "minivae-checkpoint-2"
FORMAT_1 = "minivae-checkpoint-1"          # no training state: loads, cannot be resumed
MAX_JSON_CHARS = 10_000_000                # config, history and state strings
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64")


# ------------------------------------------------------------------ older configurations

def _upgrade_config(config):
    """A config written by an older minivae, in today's words: an autoencoder's quadratic loss
    (Eq. 2) was called likelihood "gaussian" before it was named "mse"; a hierarchical VAE's
    decoder read z_1 alone before it read every level (decoder_reads "z1")."""
    if isinstance(config, dict) and config.get("kind") == "ae" and config.get("likelihood") == "gaussian":
        config = {**config, "likelihood": "mse"}
    if isinstance(config, dict) and config.get("kind") == "hvae" and "decoder_reads" not in config:
        config = {**config, "decoder_reads": "z1"}
    return config


# ------------------------------------------------------------------ optimizer and Generator state

def optimizer_state(optimizer):
    """(settings, arrays) of an Adam or SGD optimizer: a JSON-able dict and {slot/name: array}."""
    if isinstance(optimizer, Adam):
        settings = {"kind": "adam", "fused": isinstance(optimizer, FastAdam),   # the same class on resume
                    "lr": float(optimizer.lr), "beta1": float(optimizer.beta1),
                    "beta2": float(optimizer.beta2), "eps": float(optimizer.eps), "t": int(optimizer.t)}
        slots = {"m": optimizer.m, "v": optimizer.v}
    elif isinstance(optimizer, SGD):
        settings = {"kind": "sgd", "lr": float(optimizer.lr), "momentum": float(optimizer.momentum)}
        slots = {"velocity": optimizer.velocity}
    else:
        raise InputError(f"cannot store the state of a {type(optimizer).__name__} optimizer; "
                         "checkpoints know Adam and SGD")
    return settings, {f"{slot}/{k}": a for slot, d in slots.items() for k, a in d.items()}


def build_optimizer(params, settings, arrays):
    """An optimizer over params in the state given by optimizer_state's (settings, arrays)."""
    if settings["kind"] == "adam":
        adam = FastAdam if settings.get("fused", True) else Adam
        opt = adam(params, lr=settings["lr"], beta1=settings["beta1"], beta2=settings["beta2"],
                   eps=settings["eps"])
        opt.t = settings["t"]
        slots = {"m": opt.m, "v": opt.v}
    else:
        opt = SGD(params, lr=settings["lr"], momentum=settings["momentum"])
        slots = {"velocity": opt.velocity}
    for slot, d in slots.items():
        for k, a in d.items():
            a[...] = arrays[f"{slot}/{k}"]
    return opt


def _optimizer_slots(settings):
    return ("m", "v") if settings["kind"] == "adam" else ("velocity",)


def _check_optimizer_settings(s):
    if not isinstance(s, dict) or s.get("kind") not in ("adam", "sgd"):
        raise InputError("the optimizer state must name kind 'adam' or 'sgd'")
    fields = {"adam": ("lr", "beta1", "beta2", "eps", "t"), "sgd": ("lr", "momentum")}[s["kind"]]
    if not set(s) - {"fused"} == {"kind", *fields} or not isinstance(s.get("fused", True), bool):
        raise InputError(f"the optimizer state must have exactly the fields {sorted(fields)}")
    ok = _is_real(s["lr"]) and s["lr"] > 0
    if s["kind"] == "adam":
        ok = ok and all(_is_real(s[b]) and 0 <= s[b] < 1 for b in ("beta1", "beta2"))
        ok = ok and _is_real(s["eps"]) and s["eps"] > 0 and _is_int(s["t"]) and s["t"] >= 0
    else:
        ok = ok and _is_real(s["momentum"]) and 0 <= s["momentum"] < 1
    if not ok:
        raise InputError(f"the optimizer state has a value out of range: {s}")


def rng_state(rng):
    """The Generator's state as JSON-able data (its bit generator's state dict)."""
    return rng.bit_generator.state


def build_rng(state):
    """A numpy Generator in the given state (from rng_state)."""
    if not isinstance(state, dict) or state.get("bit_generator") not in BIT_GENERATORS:
        raise InputError(f"the random state must name one of the bit generators {BIT_GENERATORS}")
    bit_generator = getattr(np.random, state["bit_generator"])()
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise InputError(f"the stored random state is invalid ({e})") from None
    return np.random.Generator(bit_generator)


# ------------------------------------------------------------------ saving

def save(path, model, history=None, optimizer=None, rng=None):
    """Write model (params and config) and history to path (.npz), atomically.

    history : dict (JSON-able, finite numbers) or None
    optimizer, rng : given together, they make the checkpoint resumable: the optimizer's
                     state and the Generator's state are stored with the epoch reached,
                     len(history["train_loss"]).
    """
    history = history or {}
    if not all(np.isfinite(p).all() for p in model.params.values()):
        raise InputError(f"refusing to write {path}: the model's parameters hold NaN or Inf")
    arrays = {"format": np.array(FORMAT), "config": np.array(_dumps(model.config, "the configuration")),
              "history": np.array(_dumps(history, "the history"))}
    arrays.update({f"param/{k}": v for k, v in model.params.items()})
    if (optimizer is None) != (rng is None):
        raise InputError("pass both optimizer and rng (a resumable checkpoint) or neither")
    if optimizer is not None:
        settings, slots = optimizer_state(optimizer)
        state = {"epoch": len(history.get("train_loss", [])), "optimizer": settings, "rng": rng_state(rng)}
        arrays["state"] = np.array(_dumps(state, "the training state"))
        arrays.update({f"optim/{k}": v for k, v in slots.items()})
    with writing(path):
        with atomic_file(path) as f:
            np.savez(f, **arrays)


def _dumps(value, what):
    """Strict JSON: NaN and Infinity are not JSON, so they are an error, never written."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError as e:
        raise InputError(f"{what} holds NaN or Infinity, which minivae never writes ({e})") from None


class writing:
    """Context manager: an OSError raised while writing path names path (e.g. a full disk),
    not its temporary file nor nothing."""

    def __init__(self, path):
        self.path = Path(path)

    def __enter__(self):
        return self.path

    def __exit__(self, kind, err, tb):
        temporary = err.filename is not None and Path(str(err.filename)).name.startswith(
            f".{self.path.name}.") if isinstance(err, OSError) else False
        if isinstance(err, OSError) and (err.filename is None or temporary):
            raise OSError(err.errno, f"{err.strerror or err} (while writing {self.path})",
                          str(self.path)) from err
        return False


# ------------------------------------------------------------------ loading

def load(path):
    """Read a checkpoint: returns (model, history). Raises CheckpointError with the reason.

    Works for resumable and older checkpoints alike (the training state is not read).
    """
    model, history, _ = _read(path, with_state=False)
    return model, history


def load_for_resume(path):
    """Read a resumable checkpoint: returns (model, history, optimizer, rng), all in the state
    they had when it was written. Raises CheckpointError if it holds no training state."""
    model, history, (optimizer, rng) = _read(path, with_state=True)
    return model, history, optimizer, rng


def _read(path, with_state):
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: train one with `python -m minivae train --out DIR`")
    try:
        with zipfile.ZipFile(path) as zf:
            return _read_zip(zf, path, with_state)
    except CheckpointError:
        raise
    except InputError as e:
        raise CheckpointError(f"{path}: {e}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError,
            NotImplementedError, RuntimeError, OverflowError) as e:
        raise CheckpointError(f"{path} is not a readable minivae checkpoint (truncated or corrupt?): "
                              f"{type(e).__name__}: {e}. Re-run training to write a new one.") from None


def _headers(zf, path):
    """{member name without .npy: (shape, dtype)} from each member's .npy header, no data read."""
    headers = {}
    if len(zf.infolist()) > 10_000:
        raise CheckpointError(f"{path}: {len(zf.infolist())} members; not a minivae checkpoint")
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            raise CheckpointError(f"{path}: unexpected member {info.filename!r}; not a minivae checkpoint")
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            read = {(1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read is None:
                raise CheckpointError(f"{path}: member {info.filename!r} has .npy version {version}")
            shape, fortran, dtype = read(f, max_header_size=10_000)
        if dtype.hasobject or dtype.kind not in "fU":
            raise CheckpointError(f"{path}: array {info.filename[:-4]!r} has dtype {dtype}; a minivae "
                                  "checkpoint holds only float32/float64 arrays and strings")
        nbytes = math.prod(shape) * dtype.itemsize
        if info.compress_type != zipfile.ZIP_STORED or info.file_size < nbytes:
            raise CheckpointError(f"{path}: array {info.filename[:-4]!r} declares shape {shape} "
                                  f"({nbytes:,} bytes) but its member holds {info.file_size:,} bytes, stored "
                                  f"with zip method {info.compress_type} (minivae stores arrays uncompressed)")
        headers[info.filename[:-4]] = (shape, dtype)
    return headers


def _array(zf, name, headers, shape, dtypes, path):
    """Read one member after checking its declared shape and dtype."""
    got_shape, got_dtype = headers[name]
    if got_shape != shape or got_dtype not in dtypes:
        raise CheckpointError(f"{path}: array {name!r} has shape {got_shape} and dtype {got_dtype}; "
                              f"expected shape {shape} and dtype {' or '.join(map(str, dtypes))}")
    with zf.open(name + ".npy") as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def _json(zf, name, headers, path):
    if name not in headers:
        raise CheckpointError(f"{path}: the {name!r} entry is missing; not a complete minivae checkpoint")
    shape, dtype = headers[name]
    if shape != () or dtype.kind != "U" or dtype.itemsize // 4 > MAX_JSON_CHARS:
        raise CheckpointError(f"{path}: {name!r} must be one string of at most {MAX_JSON_CHARS:,} "
                              f"characters; got shape {shape}, dtype {dtype}")
    text = str(_array(zf, name, headers, (), [dtype], path))

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    try:
        return json.loads(text, parse_constant=refuse)
    except (json.JSONDecodeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"{path}: the stored {name!r} is not valid JSON ({e}).") from None


def check_history(history):
    """A history is a dict: "run" a dict of settings, every other entry a list of finite numbers
    or nulls. Raises InputError."""
    if not isinstance(history, dict):
        raise InputError(f"the history must be a JSON object; got {type(history).__name__}")
    if "run" in history and not isinstance(history["run"], dict):
        raise InputError(f"the history's 'run' must be a JSON object; got {type(history['run']).__name__}")
    for k, v in history.items():
        if k != "run" and not (isinstance(v, list) and all(x is None or _is_real(x) for x in v)):
            raise InputError(f"the history's {k!r} must be a list of numbers or nulls")
    return history


def _read_zip(zf, path, with_state):
    headers = _headers(zf, path)
    fmt_header = headers.get("format")
    fmt = (str(_array(zf, "format", headers, (), [fmt_header[1]], path))
           if fmt_header is not None and fmt_header[1].kind == "U" and fmt_header[1].itemsize <= 400 else None)
    if fmt not in (FORMAT, FORMAT_1) or "config" not in headers:
        raise CheckpointError(f"{path} is an .npz file but not a minivae checkpoint ({FORMAT}).")
    config = check_config(_upgrade_config(_json(zf, "config", headers, path)))
    history = check_history(_json(zf, "history", headers, path))
    state = None
    if "state" in headers:
        state = _json(zf, "state", headers, path)
        _check_state(state, history)
    elif with_state:
        raise CheckpointError(f"{path} holds no optimizer or random state (it was written by an older "
                              f"minivae, format {FORMAT_1}), so it cannot be resumed; it still works for "
                              "evaluate and sample. Start a new run instead.")

    # The parameters are stored uncompressed, so the bytes they declare are bytes the file
    # really holds: a configuration whose model is bigger than them is refused before the
    # model is built, and every array's shape and dtype are checked before it is read.
    dtype = np.dtype(config.get("dtype", "float32"))
    for name, (shape, dt) in headers.items():
        if name.startswith(("param/", "optim/")) and dt != dtype:
            raise CheckpointError(f"{path}: array {name!r} has dtype {dt}; the configuration says {dtype}")
    declared = sum(math.prod(shape) * dt.itemsize for name, (shape, dt) in headers.items()
                   if name.startswith("param/"))
    if declared != parameter_count(config) * dtype.itemsize:
        raise CheckpointError(f"{path}: the stored parameters hold {declared // dtype.itemsize:,} {dtype} "
                              f"numbers but the configuration's model has {parameter_count(config):,}; "
                              "the file does not match its configuration")
    model = build_model(config)
    slots = _optimizer_slots(state["optimizer"]) if state is not None else ()
    expected = {"format": ((), None), "config": ((), None), "history": ((), None)}
    expected.update({f"param/{k}": (p.shape, p.dtype) for k, p in model.params.items()})
    if state is not None:
        expected["state"] = ((), None)
        expected.update({f"optim/{s}/{k}": (p.shape, p.dtype) for s in slots for k, p in model.params.items()})
    if headers.keys() != expected.keys():
        missing, extra = sorted(expected.keys() - headers.keys()), sorted(headers.keys() - expected.keys())
        raise CheckpointError(f"{path}: the arrays do not match the configuration "
                              f"(missing {missing}, unexpected {extra}).")
    for name, (shape, dt) in expected.items():
        if dt is not None and headers[name] != (shape, dt):
            raise CheckpointError(f"{path}: array {name!r} has shape {headers[name][0]} and dtype "
                                  f"{headers[name][1]}; the configuration needs shape {shape}, {dt}")
    for k, p in model.params.items():
        p[...] = _finite(_array(zf, f"param/{k}", headers, p.shape, [p.dtype], path), f"parameter {k}", path)
    if not with_state:
        return model, history, None
    arrays = {f"{s}/{k}": _finite(_array(zf, f"optim/{s}/{k}", headers, p.shape, [p.dtype], path),
                                  f"optimizer array {s}/{k}", path)
              for s in slots for k, p in model.params.items()}
    if state["optimizer"]["kind"] == "adam" and any((arrays[f"v/{k}"] < 0).any() for k in model.params):
        raise CheckpointError(f"{path}: Adam's second moment v holds negative values; the file is corrupt")
    optimizer = build_optimizer(model.params, state["optimizer"], arrays)
    try:
        rng = build_rng(state["rng"])
    except InputError as e:
        raise CheckpointError(f"{path}: {e}") from None
    return model, history, (optimizer, rng)


def _finite(a, what, path):
    if not np.isfinite(a).all():
        raise CheckpointError(f"{path}: {what} holds NaN or Inf values; this checkpoint is from a run "
                              "that diverged or it is corrupt. Use an earlier checkpoint or re-train.")
    return a


def _check_state(state, history):
    if not isinstance(state, dict) or set(state) != {"epoch", "optimizer", "rng"}:
        raise InputError("the training state must have exactly the fields epoch, optimizer and rng")
    if not (_is_int(state["epoch"]) and state["epoch"] == len(history.get("train_loss", []))):
        raise InputError(f"the training state's epoch {state['epoch']!r} does not match the "
                         f"{len(history.get('train_loss', []))} epochs of its history")
    _check_optimizer_settings(state["optimizer"])
