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
import inspect
import json
import math
import zipfile
from pathlib import Path

import numpy as np

from . import networks
from .atomic import atomic_file
from .autoencoder import Autoencoder
from .checks import DTYPES, SIGMA_RANGE, check_fits, check_sigma_range
from .errors import CheckpointError, InputError
from .fast_optim import FastAdam
from .hierarchical import HierarchicalVAE
from .likelihoods import AE_LIKELIHOODS, VAE_LIKELIHOODS, decoder_width
from .optim import SGD, Adam
from .vae import VAE

FORMAT = "minivae-checkpoint-2"
FORMAT_1 = "minivae-checkpoint-1"          # no training state: loads, cannot be resumed
MODELS = {"vae": VAE, "ae": Autoencoder, "hvae": HierarchicalVAE}
LIKELIHOODS = {"vae": VAE_LIKELIHOODS, "ae": AE_LIKELIHOODS}
ACTIVATIONS = ("relu", "tanh", "leaky_relu", "sigmoid")
MAX_JSON_CHARS = 10_000_000                # config, history and state strings
MAX_SIZE = 2**31                           # any one size (d_in, hidden, latent_dim, channels)
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64")


# ------------------------------------------------------------------ sizes and configurations

def parameter_count(config):
    """How many numbers the model of a (checked) config has, computed without building it.

    VAE and Autoencoder are counted by networks.parameter_count, the count build_networks
    checks before allocating; another model class (a new kind in MODELS) must
    offer a ``parameter_count(config)`` static method, or its checkpoints are refused.
    """
    if config["kind"] not in ("vae", "ae"):
        count = getattr(MODELS[config["kind"]], "parameter_count", None)
        if count is None:
            raise InputError(f"cannot check the size of a {config['kind']!r} model before building it "
                             f"({MODELS[config['kind']].__name__} has no parameter_count)")
        return count(config)
    config = _with_defaults(config)
    latent, per_pixel = config["latent_dim"], decoder_width(config["likelihood"], 1)
    return networks.parameter_count(config, 2 * latent if config["kind"] == "vae" else latent, per_pixel)


def _with_defaults(config):
    """A vae/ae config with the settings it may leave out filled in as the constructors do."""
    likelihood = LIKELIHOODS[config["kind"]][0]
    return {"arch": "mlp", "hidden": [400], "channels": [32, 64], "likelihood": likelihood, **config}


def training_bytes(config, batch_size=0):
    """A generous estimate of the memory training needs: parameters, gradients, Adam's m, v
    and scratch, float64 initialisation, plus the activations of one batch."""
    itemsize = np.dtype(config.get("dtype", "float32")).itemsize
    params = parameter_count(config)
    if config["kind"] not in ("vae", "ae"):                       # no layout known: twice the input
        widths = 3 * config.get("d_in", 1) + 2 * params // max(1, config.get("d_in", 1))
    elif (config := _with_defaults(config))["arch"] == "mlp":
        widths = config["d_in"] * 3 + 2 * sum(config["hidden"]) + 4 * config["latent_dim"]
    else:
        c, h, w = config["image_shape"]
        widths = 3 * c * h * w + 2 * sum(config["channels"]) * h * w + 4 * config["latent_dim"]
    return params * (5 * itemsize + 8) + 6 * batch_size * widths * itemsize


def check_fits_in_memory(config, batch_size=0, what="this model"):
    """Raise InputError if training the model of config would not fit in memory."""
    check_fits(training_bytes(config, batch_size), f"{what} ({parameter_count(config):,} parameters)")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _plain(v, depth=0):
    """A JSON value a model setting may be: null, a boolean, a string of at most 100 characters,
    a finite number (integers within +-MAX_SIZE), or a list of at most 64 of these (depth <= 2)."""
    if v is None or isinstance(v, bool):
        return True
    if isinstance(v, str):
        return len(v) <= 100
    if _is_int(v):
        return -MAX_SIZE <= v <= MAX_SIZE
    if isinstance(v, float):
        return math.isfinite(v)
    return isinstance(v, list) and depth < 2 and len(v) <= 64 and all(_plain(x, depth + 1) for x in v)


def _upgrade_config(config):
    """A config written by an older minivae, in today's words: an autoencoder's quadratic loss
    (Eq. 2) was called likelihood "gaussian" before it was named "mse"; a hierarchical VAE's
    decoder read z_1 alone before it read every level (decoder_reads "z1")."""
    if isinstance(config, dict) and config.get("kind") == "ae" and config.get("likelihood") == "gaussian":
        config = {**config, "likelihood": "mse"}
    if isinstance(config, dict) and config.get("kind") == "hvae" and "decoder_reads" not in config:
        config = {**config, "decoder_reads": "z1"}
    return config


def check_config(config):
    """Check a model configuration's keys, types and ranges before anything is built.

    Raises InputError naming the field. Returns the config unchanged.
    """
    if not isinstance(config, dict):
        raise InputError(f"the configuration must be a JSON object; got {type(config).__name__}")
    kind = config.get("kind")
    if kind not in MODELS:
        raise InputError(f"unknown model kind {kind!r}; expected one of {sorted(MODELS)}")

    def need(ok, field, what):
        if not ok:
            raise InputError(f"config field {field!r} must be {what}; got {config.get(field)!r}")

    def size(v):
        return _is_int(v) and 1 <= v <= MAX_SIZE

    parameters = inspect.signature(MODELS[kind]).parameters
    takes_any = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
    for field, v in config.items():
        if field != "kind" and (field == "rng" or (field not in parameters and not takes_any)):
            raise InputError(f"config field {field!r} is not a setting of {MODELS[kind].__name__} "
                             "(a checkpoint of another minivae version?)")
        need(_plain(v), field, "JSON scalars or (nested) lists of at most 64 of them, numbers finite "
                               "and integers within +-2^31")
    need(config.get("dtype", "float32") in DTYPES, "dtype", f"one of {DTYPES}")
    if kind == "hvae":
        dims, hidden = config.get("latent_dims"), config.get("hidden")
        need(size(config.get("d_in")), "d_in", f"an integer in [1, {MAX_SIZE}]")
        need(isinstance(dims, list) and 1 <= len(dims) <= 16 and all(size(v) for v in dims), "latent_dims",
             "a list of 1 to 16 positive integers")
        def sizes(h):                       # one level's deterministic layers: a size or a list of sizes
            return size(h) or (isinstance(h, list) and 1 <= len(h) and all(size(v) for v in h))

        need(isinstance(hidden, list) and len(hidden) == len(dims) and all(sizes(h) for h in hidden), "hidden",
             "a list with one entry per level, each a positive integer or a non-empty list of them")
        need(config.get("likelihood", "bernoulli") in VAE_LIKELIHOODS, "likelihood", f"one of {VAE_LIKELIHOODS}")
        need(config.get("activation", "relu") in ACTIVATIONS, "activation", f"one of {ACTIVATIONS}")
        need(config.get("decoder_reads", "all") in ("all", "z1"), "decoder_reads", "'all' or 'z1'")
        need(config.get("decoder_hidden") is None or sizes(config["decoder_hidden"]), "decoder_hidden",
             f"null, an integer in [1, {MAX_SIZE}] or a non-empty list of them")
        need(config.get("inference", "top-down") in ("top-down", "bottom-up"), "inference",
             "'top-down' or 'bottom-up'")
        sigma = config.get("sigma", 0.1)
        need(_is_real(sigma) and SIGMA_RANGE[0] <= sigma <= SIGMA_RANGE[1], "sigma",
             f"a number in [{SIGMA_RANGE[0]:g}, {SIGMA_RANGE[1]:g}]")
    if kind not in ("vae", "ae"):           # the rest is checked by its own class (constructor)
        return config
    for field in ("d_in", "latent_dim"):
        need(size(config.get(field)), field, f"an integer in [1, {MAX_SIZE}]")
    hidden = config.get("hidden", [400])
    need(isinstance(hidden, list) and all(size(h) for h in hidden), "hidden", "a list of positive integers")
    need(config.get("likelihood", LIKELIHOODS[kind][0]) in LIKELIHOODS[kind], "likelihood",
         f"one of {LIKELIHOODS[kind]}")
    need(config.get("activation", "relu") in ACTIVATIONS, "activation", f"one of {ACTIVATIONS}")
    need(config.get("arch", "mlp") in ("mlp", "conv"), "arch", "'mlp' or 'conv'")
    channels = config.get("channels", [32, 64])
    need(isinstance(channels, list) and len(channels) == 2 and all(size(c) for c in channels),
         "channels", "a list of two positive integers")
    shape = config.get("image_shape")
    need(shape is None or (isinstance(shape, list) and len(shape) == 3 and all(size(s) for s in shape)
                           and math.prod(shape) == config["d_in"]),
         "image_shape", "null or three positive integers [C, H, W] with C*H*W == d_in")
    if config.get("arch", "mlp") == "conv":
        need(shape is not None and shape[1] % 4 == 0 and shape[2] % 4 == 0, "image_shape",
             "[C, H, W] with H and W divisible by 4 for arch 'conv'")
    if kind == "vae":
        sigma = config.get("sigma", 1.0)
        need(_is_real(sigma) and SIGMA_RANGE[0] <= sigma <= SIGMA_RANGE[1], "sigma",
             f"a number in [{SIGMA_RANGE[0]:g}, {SIGMA_RANGE[1]:g}]")
        need(config.get("decoder_mean", "linear") in ("linear", "sigmoid"), "decoder_mean",
             "'linear' or 'sigmoid'")
        bounds = config.get("sigma_range")
        try:
            check_sigma_range(bounds)
        except InputError as e:
            raise InputError(f"config field 'sigma_range': {e}") from None
        need(config.get("likelihood") != "bernoulli" or (config.get("decoder_mean", "linear") == "linear"
                                                         and bounds is None),
             "decoder_mean", "'linear' (and sigma_range null) for a Bernoulli decoder")
    return config


def build_model(config):
    """Rebuild an (untrained) model from its config dict, after checking it."""
    check_config(config)
    check_fits_in_memory(config, what="the model of this configuration")
    config = dict(config)
    kind = config.pop("kind")
    config["dtype"] = np.dtype(config.get("dtype", "float32"))
    return MODELS[kind](**config)


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
