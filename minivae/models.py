r"""A model described once: its spec, checked, sized and built.

A spec is a plain JSON-able dict, the model's kind and its constructor's settings,

    {"kind": "vae", "d_in": 784, "hidden": [400], "latent_dim": 20, "likelihood": "bernoulli",
     "activation": "relu", "dtype": "float32", ...}

the dict a model keeps as ``model.config`` and a checkpoint stores. ``build_model(spec, rng)``
is the one way the command line (train), ``--resume`` and the checkpoint loader make a model
from one, and Python users can too (``minivae.build_model``; calling ``VAE(...)`` directly
builds the same model). ``check_config`` checks a spec that comes from outside (a file, a
command line) before anything is allocated: known kind and fields, JSON types, sizes within
bounds, the model's size affordable; the constructors then check their own arguments as
Python calls them. Which kinds exist and which likelihoods each takes is written here once
(MODELS, LIKELIHOODS), the activations once in activations.ACTIVATIONS; other modules ask,
never list them.
"""
import inspect
import math

import numpy as np

from . import networks
from .activations import ACTIVATIONS
from .autoencoder import Autoencoder
from .checks import DTYPES, SIGMA_RANGE, check_fits, check_sigma_range
from .errors import InputError
from .hierarchical import DECODER_READS, INFERENCES, HierarchicalVAE
from .likelihoods import AE_LIKELIHOODS, VAE_LIKELIHOODS, decoder_width
from .vae import VAE

MODELS = {"vae": VAE, "ae": Autoencoder, "hvae": HierarchicalVAE}
LIKELIHOODS = {"vae": VAE_LIKELIHOODS, "ae": AE_LIKELIHOODS, "hvae": VAE_LIKELIHOODS}   # the first is the default
NAMES = {"vae": "a VAE", "ae": "an autoencoder", "hvae": "a hierarchical VAE"}   # for messages
MAX_SIZE = 2**31                           # any one size (d_in, hidden, latent_dim, channels)


def settings(kind):
    """The settings a model of this kind takes: its constructor's parameters (but rng)."""
    return [name for name in inspect.signature(MODELS[kind]).parameters if name != "rng"]


def defines_p_x(kind):
    """Whether the kind is a latent-variable model, with q(z|x), p(z) and a likelihood p(x|z),
    so a KL term, an ELBO and importance weights (log_weights); an autoencoder is not."""
    return hasattr(MODELS[kind], "log_weights")


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
        need(config.get("likelihood", "bernoulli") in LIKELIHOODS[kind], "likelihood", f"one of {LIKELIHOODS[kind]}")
        need(config.get("activation", "relu") in ACTIVATIONS, "activation", f"one of {tuple(ACTIVATIONS)}")
        need(config.get("decoder_reads", "all") in DECODER_READS, "decoder_reads",
             " or ".join(repr(v) for v in DECODER_READS))
        need(config.get("decoder_hidden") is None or sizes(config["decoder_hidden"]), "decoder_hidden",
             f"null, an integer in [1, {MAX_SIZE}] or a non-empty list of them")
        need(config.get("inference", "top-down") in INFERENCES, "inference",
             " or ".join(repr(v) for v in INFERENCES))
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
    need(config.get("activation", "relu") in ACTIVATIONS, "activation", f"one of {tuple(ACTIVATIONS)}")
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


def build_model(config, rng=None):
    """The (untrained) model of a spec, after checking it: MODELS[kind](**settings, rng=rng).

    rng : the numpy Generator that draws the initial weights (None: np.random.default_rng(0),
          as the constructors)
    """
    check_config(config)
    check_fits_in_memory(config, what="the model of this configuration")
    config = dict(config)
    kind = config.pop("kind")
    config["dtype"] = np.dtype(config.get("dtype", "float32"))
    return MODELS[kind](**config, rng=rng)

