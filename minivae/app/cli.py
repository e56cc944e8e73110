"""The command line: python -m minivae {train, evaluate, sample, figures}.

A user's mistake (a bad option, a missing or corrupt file, a failed download, a diverged
run) prints one line, `minivae COMMAND: error: ...`, and exits with status 2. These are
minivae's own error types (errors.MinivaeError) and OSErrors about a named file; anything
else is a bug and keeps its traceback. Ctrl-C or SIGTERM exits with status 130 after saying
how to resume.

A run folder (--out) holds one run: checkpoint.npz (the source of truth: parameters,
optimizer and random state, history), history.json (written from it after every epoch) and
the figures of that checkpoint. An existing run is never replaced without --overwrite, and
a lock file (.minivae.lock) keeps two trainings out of one folder.
"""
import argparse
import json
import math
import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np

from .. import models
from ..activations import ACTIVATIONS
from ..checks import SIGMA_RANGE
from ..datasets import DATASETS, TEST_BINARIZATION_SEED, fixed_binarization, load_dataset
from ..errors import CheckpointError, DataError, InputError, MinivaeError, TrainingDiverged
from ..hierarchical import DECODER_READS, INFERENCES
from ..train import OBJECTIVES
from . import checkpoint
from .atomic import atomic_file
from .progress import Progress, seconds_text, wanted

TRAIN_SIZES = {"mnist-subset": 10_000, "mnist": 60_000, "fashion-mnist": 60_000, "frey": 1768}
IMAGE_SHAPES = {"mnist-subset": (1, 28, 28), "mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28),
                "frey": (1, 28, 20)}
TRAIN_DEFAULTS = dict(dataset="mnist-subset", model="vae", arch="mlp", likelihood=None, sigma=0.1,
                      hidden=[400], channels=[32, 64], activation="relu", latent_dim=20, epochs=10,
                      batch_size=128, lr=1e-3, adam_eps=1e-8, beta=1.0, warmup_epochs=0.0,
                      binarize=None, seed=0, schedule_stages=None, objective="elbo", k=5,
                      decoder_mean=None, sigma_min=None, sigma_max=None, latent_dims=[32, 16],
                      decoder_reads="all", decoder_hidden=None, inference="top-down",
                      output_bias="zero")
# Burda, Grosse & Salakhutdinov (2016), Table 1, one stochastic layer: 784-200-200-50 tanh,
# Bernoulli decoder, dynamically binarized MNIST, Adam(0.9, 0.999, eps 1e-4), batch 20,
# 3^i epochs at lr 0.001 10^(-i/7), i = 0..7.
# burda2016-2layer: their two-stochastic-layer model (yburda/iwae, experiments.py --layers 2):
# q(z1|x) 784-200-200-(2x100), q(z2|z1) 100-100-100-(2x50), p(z1|z2) 50-100-100-(2x100),
# p(x|z1) 100-200-200-784, tanh, inferred bottom up; the same data, optimizer and schedule, and
# their output bias: logit of the mean training pixel (datasets.py get_train_bias_np). The pilot
# in docs/burda2layer.md measured what it is worth: -90.17 with it against -101.70 without.
RECIPES = {"burda2016": dict(dataset="mnist", model="vae", arch="mlp", likelihood="bernoulli",
                             hidden=[200, 200], latent_dim=50, activation="tanh", binarize="dynamic",
                             batch_size=20, adam_eps=1e-4, schedule_stages=8),
           "burda2016-2layer": dict(dataset="mnist", model="hvae", arch="mlp", likelihood="bernoulli",
                                    latent_dims=[100, 50], hidden=[[200, 200], [100, 100]],
                                    decoder_hidden=[200, 200], decoder_reads="z1", inference="bottom-up",
                                    activation="tanh", binarize="dynamic", batch_size=20, adam_eps=1e-4,
                                    schedule_stages=8, output_bias="data-mean")}
# What --resume may change: the rest belongs to the run being continued.
RESUME_OPTIONS = {"epochs", "data_dir", "quiet", "progress", "no_figures", "resume"}
RUN_FILES = ("checkpoint.npz", "history.json")
LOCK = ".minivae.lock"
MAX_SAMPLES = 1024                  # a 32 x 32 grid; more is not a readable picture
MAX_IW_SAMPLES = 1_000_000
MAX_EPOCHS = 100_000                # 30 times Burda et al.'s 3,280-epoch schedule
FIGURES_OUT = "runs/figures"
DATA_DIR_HELP = ("the folder with the IDX files of mnist / fashion-mnist (default: $MINIVAE_DATA, "
                 "else ~/.cache/minivae; missing files are downloaded)")


def _progress_options(parser, what):
    parser.add_argument("--quiet", action="store_true", help=f"no {what} (default: shown on a terminal)")
    parser.add_argument("--progress", action="store_true",
                        help=f"show {what} even when stderr is not a terminal (default: only on a terminal)")


def _parser():
    p = argparse.ArgumentParser(prog="minivae", description="Autoencoders and VAEs from scratch in NumPy.")
    sub = p.add_subparsers(dest="command", required=True)
    d = TRAIN_DEFAULTS

    t = sub.add_parser("train", help="train a VAE or autoencoder; writes checkpoint, history and figures")
    t.add_argument("--dataset", choices=DATASETS, help=f"default: {d['dataset']}")
    t.add_argument("--model", choices=list(models.MODELS),
                   help="default: vae; hvae is the hierarchical VAE (--latent-dims, one --hidden per level)")
    t.add_argument("--arch", choices=["mlp", "conv"], help="default: mlp")
    t.add_argument("--likelihood", choices=list(dict.fromkeys(v for k in models.MODELS for v in models.LIKELIHOODS[k])),
                   help="decoder distribution (default: bernoulli; gaussian-learned for frey); "
                        "--model ae takes mse (Eq. 2, its default) or bernoulli")
    t.add_argument("--decoder-mean", choices=["linear", "sigmoid"],
                   help="Gaussian decoders: squash means into (0, 1) with a sigmoid (default: sigmoid for frey)")
    t.add_argument("--sigma-min", type=float,
                   help="gaussian-learned: floor on the decoder's sigma, in [1e-06, 1e+06] (default: 0.01 "
                        "for frey; 0: no bound)")
    t.add_argument("--sigma-max", type=float,
                   help="gaussian-learned: with --sigma-min, bound sigma to [min, max] by a sigmoid "
                        "(default: 1 for frey)")
    t.add_argument("--sigma", type=float, help=f"fixed decoder std for --likelihood gaussian (VAE); "
                   f"default {d['sigma']}, range [{SIGMA_RANGE[0]:g}, {SIGMA_RANGE[1]:g}]")
    t.add_argument("--hidden", type=int, nargs="+", help="MLP hidden layer sizes (default: 400)")
    t.add_argument("--channels", type=int, nargs=2, help="conv channels (--arch conv; default: 32 64)")
    t.add_argument("--activation", choices=list(ACTIVATIONS), help="default: relu")
    t.add_argument("--latent-dim", type=int, help=f"default: {d['latent_dim']}")
    t.add_argument("--latent-dims", type=int, nargs="+", metavar="L",
                   help="--model hvae: the levels' latent sizes, bottom first (default: 32 16); "
                        "--hidden gives one size per level, or one for all")
    t.add_argument("--decoder-reads", choices=DECODER_READS,
                   help="--model hvae: the decoder reads every level, p(x | z_1, ..., z_L) (all, the "
                        "default, as NVAE), or z_1 alone, p(x | z_1) (z1, as the Ladder VAE)")
    t.add_argument("--decoder-hidden", type=int, metavar="H",
                   help="--model hvae: the decoder's hidden size (default: the first --hidden)")
    t.add_argument("--inference", choices=INFERENCES,
                   help="--model hvae: infer the levels top down, q(z_l | z_{l+1}, x) with NVAE's residual "
                        "posterior (top-down, the default), or bottom up from the level below's sample, "
                        "q(z_l | z_{l-1}), as Burda et al. (bottom-up, the default of --recipe burda2016-2layer)")
    t.add_argument("--output-bias", choices=["zero", "data-mean"],
                   help="Bernoulli decoders: start the output bias at zero (the default) or at the logit "
                        "of the mean training pixel, as Burda et al.'s code (data-mean, the default of "
                        "--recipe burda2016-2layer)")
    t.add_argument("--epochs", type=int, help=f"the epoch to train up to (default: {d['epochs']}; "
                   "a recipe's schedule length)")
    t.add_argument("--batch-size", type=int, help=f"default: {d['batch_size']}")
    t.add_argument("--lr", type=float, help=f"Adam's learning rate (default: {d['lr']})")
    t.add_argument("--adam-eps", type=float, help=f"Adam's epsilon (default: {d['adam_eps']})")
    t.add_argument("--beta", type=float, help="weight of the KL term (default: 1)")
    t.add_argument("--warmup-epochs", type=float, help="linear KL warm-up from 0 to beta (default: 0)")
    t.add_argument("--objective", choices=OBJECTIVES,
                   help="training objective: the ELBO (default), or the importance-weighted bound L_k")
    t.add_argument("--k", type=int, help="importance samples per example for --objective iwae (default: 5)")
    t.add_argument("--binarize", choices=["dynamic", "none"],
                   help="dynamic binarization of the training data (default: dynamic for a "
                        "Bernoulli VAE, none otherwise)")
    t.add_argument("--seed", type=int, help="default: 0")
    t.add_argument("--recipe", choices=sorted(RECIPES),
                   help="a published setup; options given explicitly override it (default: none). burda2016: "
                        "784-200-200-50 tanh VAE on MNIST, batch 20, Adam eps 1e-4, 3^i epochs at "
                        "lr 0.001*10^(-i/7), i=0..7 (3,280 epochs). burda2016-2layer: their two "
                        "stochastic layers, 784-200-200-100-100-100-50 (generative 50-100-100-100-200-200-784), "
                        "bottom-up inference (--inference top-down for minivae's), the same schedule")
    t.add_argument("--schedule-stages", type=int, metavar="S",
                   help="with --recipe burda2016 or burda2016-2layer: run only stages i=0..S-1 (default 8; "
                        "4 gives 40 epochs)")
    t.add_argument("--resume", metavar="RUN", help="continue the run in folder RUN (or checkpoint "
                   "file RUN) where it stopped; only --epochs, --data-dir, --quiet, --progress, --no-figures "
                   "may be given (default: a new run)")
    t.add_argument("--overwrite", action="store_true", help="replace the run already in --out (default: refuse)")
    t.add_argument("--data-dir", default=None, metavar="DIR", help=DATA_DIR_HELP)
    t.add_argument("--out", default=None, metavar="DIR", help="the run folder (default: runs/DATASET-MODEL)")
    t.add_argument("--no-figures", action="store_true",
                   help="do not draw the run's figures at the end (default: draw them)")
    _progress_options(t, "the progress bar")

    e = sub.add_parser("evaluate", help="test negative ELBO, its parts, and an importance-weighted log p(x)")
    e.add_argument("checkpoint", help="a checkpoint file or a run folder")
    e.add_argument("--iw-samples", type=int, default=0, metavar="K",
                   help=f"importance samples per example for log p(x), 0 to {MAX_IW_SAMPLES:,} (default: 0, skip it)")
    e.add_argument("--n-examples", type=int, default=None, metavar="N",
                   help="use only the first N test examples (default: all of them)")
    e.add_argument("--dataset", choices=DATASETS, default=None, help="default: the one it was trained on")
    e.add_argument("--data-dir", default=None, metavar="DIR", help=DATA_DIR_HELP)
    e.add_argument("--seed", type=int, default=0, help="seeds the noise draws (default: 0)")
    e.add_argument("--json", action="store_true",
                   help="print the result as strict JSON instead of a table (default: a table)")
    e.add_argument("--out", default=None, metavar="FILE.json",
                   help="also write the JSON result to this file (default: none)")
    e.add_argument("--overwrite", action="store_true", help="replace --out if it exists (default: refuse)")
    _progress_options(e, "the importance sampling's progress")

    s = sub.add_parser("sample", help="draw samples z ~ N(0, I) and decode them into a PNG grid")
    s.add_argument("checkpoint", help="a checkpoint file or a run folder")
    s.add_argument("--n", type=int, default=64, help=f"how many, 1 to {MAX_SAMPLES} (default: 64)")
    s.add_argument("--out", default=None, metavar="FILE.png",
                   help="the picture (default: samples-nN-seedS.png in the checkpoint's folder)")
    s.add_argument("--overwrite", action="store_true", help="replace --out if it exists (default: refuse)")
    s.add_argument("--seed", type=int, default=0, help="seeds the codes z ~ N(0, I) (default: 0)")

    f = sub.add_parser("figures", help="train the small models the README's figures need and draw them all")
    f.add_argument("--out", default=FIGURES_OUT, metavar="DIR",
                   help=f"the folder to write them in (default: {FIGURES_OUT}; the README's own: "
                        "--out figures --overwrite)")
    f.add_argument("--overwrite", action="store_true",
                   help="replace figures already in --out (default: refuse)")
    f.add_argument("--dataset", choices=["mnist-subset", "mnist"], default="mnist-subset",
                   help="default: mnist-subset (embedded, no download)")
    f.add_argument("--data-dir", default=None, metavar="DIR", help=DATA_DIR_HELP)
    f.add_argument("--epochs", type=int, default=None,
                   help="epochs per model, 1 to 1000 (default: 20 on mnist-subset, 10 on mnist)")
    f.add_argument("--seed", type=int, default=0, help="seeds every model and picture (default: 0)")
    _progress_options(f, "the progress line")
    return p


# ---------------------------------------------------------------------------- option checks

def _at_least(name, value, low=1, high=None):
    if value is not None and (value < low or (high is not None and value > high)):
        limit = f"at least {low}" + ("" if high is None else f" and at most {high:,}")
        raise InputError(f"--{name.replace('_', '-')} must be {limit}; got {value}")


def _finite(name, value, positive=False, low=None, high=None):
    low = low if low is not None else 0.0
    ok = math.isfinite(value) and (value > low if positive and low == 0 else value >= low)
    if not (ok and (high is None or value <= high)):
        what = f"a finite number {'>' if positive and low == 0 else '>='} {low:g}"
        what += "" if high is None else f" and <= {high:g}"
        raise InputError(f"--{name.replace('_', '-')} must be {what}; got {value}")


def _settings(a):
    """The training settings: recipe, then explicit options, over the defaults."""
    given = {k: v for k, v in vars(a).items() if k in TRAIN_DEFAULTS and v is not None}
    if a.recipe is None and a.schedule_stages is not None:
        raise InputError("--schedule-stages needs --recipe burda2016 or burda2016-2layer (it shortens the "
                         "recipe's schedule)")
    recipe = RECIPES.get(a.recipe, {})
    if recipe and "lr" in given:
        raise InputError(f"--lr cannot be combined with --recipe {a.recipe}: its schedule sets the "
                         "learning rate (shorten it with --schedule-stages or --epochs)")
    s = {**TRAIN_DEFAULTS, **recipe, **given}
    for name in ("batch_size", "latent_dim", "k"):
        _at_least(name, s[name])
    if min(s["latent_dims"]) < 1:
        raise InputError(f"--latent-dims sizes must be at least 1; got {s['latent_dims']}")
    kind = s["model"]
    takes = models.settings(kind)
    for name in given:                                  # a setting of another kind of model
        owners = [k for k in models.MODELS if name in models.settings(k)]
        if owners and name not in takes:
            raise InputError(f"--{name.replace('_', '-')} is for --model {' or '.join(owners)}; "
                             f"{models.NAMES[kind]} does not take it, so leave it out")
    if "latent_dims" in takes:                          # one --hidden per level, or one for all
        if len(s["hidden"]) == 1:
            s["hidden"] = s["hidden"] * len(s["latent_dims"])
        if len(s["hidden"]) != len(s["latent_dims"]):
            raise InputError(f"--model {kind} needs one --hidden size per level (or one for all); got "
                             f"--hidden {s['hidden']} for --latent-dims {s['latent_dims']}")
    if s["decoder_hidden"] is not None:
        _at_least("decoder_hidden", min(_flat([s["decoder_hidden"]])))
    _at_least("epochs", s["epochs"], 1, MAX_EPOCHS)
    _at_least("seed", s["seed"], 0)
    _at_least("schedule_stages", s["schedule_stages"], 1, 11)        # 11 stages: 88,573 epochs
    if min(_flat(s["hidden"])) < 1 or min(s["channels"]) < 1:
        raise InputError(f"--hidden and --channels sizes must be at least 1; got {s['hidden']} and {s['channels']}")
    _finite("lr", s["lr"], positive=True, high=1e6)
    _finite("adam_eps", s["adam_eps"], positive=True)
    _finite("beta", s["beta"])
    _finite("warmup_epochs", s["warmup_epochs"])
    _finite("sigma", s["sigma"], positive=True, low=SIGMA_RANGE[0], high=SIGMA_RANGE[1])
    likelihoods = models.LIKELIHOODS[kind]             # the first is the kind's default
    frey = s["dataset"] == "frey" and "gaussian-learned" in likelihoods
    s["likelihood"] = s["likelihood"] or ("gaussian-learned" if frey else likelihoods[0])
    if s["likelihood"] not in likelihoods:
        hint = (": it is the autoencoder's loss (Eq. 2); a VAE's fixed-sigma Gaussian decoder is --likelihood "
                "gaussian" if s["likelihood"] == "mse" else "")
        raise InputError(f"--model {kind} takes --likelihood {' or '.join(likelihoods)}, not "
                         f"{s['likelihood']}{hint}")
    if s["objective"] == "iwae" and not models.defines_p_x(kind):
        vaes = " or ".join(k for k in models.MODELS if models.defines_p_x(k))
        raise InputError(f"--objective iwae needs a VAE (--model {vaes}): {models.NAMES[kind]} defines no p(x) to bound")
    _refuse_unused(given, s)
    if s["output_bias"] == "data-mean" and (s["likelihood"] != "bernoulli" or s["arch"] != "mlp"):
        raise InputError("--output-bias data-mean starts a Bernoulli decoder's logits at the mean training "
                         "pixel: it needs --likelihood bernoulli and --arch mlp; leave it out here")
    s["decoder_mean"], s["sigma_range"] = _gaussian_head(s)
    s["binarize"] = (s["binarize"] or ("dynamic" if (models.defines_p_x(kind) and s["likelihood"] == "bernoulli")
                                       else "none")) == "dynamic"
    s["lr_schedule"] = None
    if s["schedule_stages"] is not None:
        from ..train import burda_schedule
        s["lr_schedule"] = burda_schedule(s["schedule_stages"])
        if "epochs" not in given:
            s["epochs"] = sum(n for n, _ in s["lr_schedule"])
    return s


def _flat(sizes):
    """[400, [200, 200]] -> [400, 200, 200]: every layer size of a --hidden setting."""
    return [v for h in sizes for v in (h if isinstance(h, list) else [h])]


def _refuse_unused(given, s):
    """An option the chosen model would silently ignore is a mistake: say so."""
    vae = models.defines_p_x(s["model"])
    unused = [("sigma", not vae or s["likelihood"] != "gaussian",
               "is the fixed std of a VAE's --likelihood gaussian decoder"),
              ("k", s["objective"] != "iwae", "is the number of samples of --objective iwae"),
              ("beta", not vae, "weighs a VAE's KL term (an autoencoder has none)"),
              ("warmup_epochs", not vae, "warms up a VAE's KL term (an autoencoder has none)"),
              ("channels", s["arch"] != "conv", "sizes the --arch conv networks"),
              ("hidden", s["arch"] != "mlp", "sizes the --arch mlp networks")]
    for name, ignored, what in unused:
        if name in given and ignored:
            raise InputError(f"--{name.replace('_', '-')} {what}; it would be ignored here, so leave it out")


def _gaussian_head(s):
    """(decoder_mean, sigma_range) of a Gaussian VAE decoder (minivae.gaussian_head).

    Frey Face defaults to Kingma & Welling's decoder: sigmoid means in (0, 1) and, for a
    learned variance, sigma bounded to [0.01, 1] (which kept sigma sane and gave the best
    test ELBO; see docs/results.md, "Frey Face").
    """
    if s["sigma_max"] is not None and s["sigma_min"] is None:
        raise InputError("--sigma-max needs --sigma-min too (sigma is bounded to [min, max])")
    if s["sigma_min"] == 0 and s["sigma_max"] is not None:
        raise InputError("--sigma-min 0 means no bound on sigma, so it cannot be combined with --sigma-max; "
                         f"give a floor of at least {SIGMA_RANGE[0]:g}")
    for name in ("sigma_min", "sigma_max"):
        if s[name] is not None and not (name == "sigma_min" and s[name] == 0):
            _finite(name, s[name], low=SIGMA_RANGE[0], high=SIGMA_RANGE[1])
    if s["sigma_min"] is not None and s["sigma_max"] is not None and not s["sigma_min"] < s["sigma_max"]:
        raise InputError(f"--sigma-min must be below --sigma-max; got {s['sigma_min']} and {s['sigma_max']}")
    gaussian_vae = "decoder_mean" in models.settings(s["model"]) and s["likelihood"] in ("gaussian", "gaussian-learned")
    frey = gaussian_vae and s["dataset"] == "frey"
    learned = gaussian_vae and s["likelihood"] == "gaussian-learned"
    if not gaussian_vae and (s["decoder_mean"] not in (None, "linear") or s["sigma_min"] is not None):
        raise InputError("--decoder-mean, --sigma-min and --sigma-max shape a VAE's Gaussian decoder")
    if not learned and s["sigma_min"] is not None:
        raise InputError("--sigma-min and --sigma-max bound a learned sigma: use --likelihood gaussian-learned")
    decoder_mean = s["decoder_mean"] or ("sigmoid" if frey else "linear")
    if s["sigma_min"] == 0 and s["sigma_max"] is None:
        sigma_range = None
    elif s["sigma_min"] is not None:
        sigma_range = [s["sigma_min"], s["sigma_max"]]
    else:
        sigma_range = [0.01, 1.0] if learned and frey else None
    return decoder_mean, sigma_range


def _model_config(s):
    """The model's spec (minivae.models: as model.config) from the settings, not yet built:
    every setting the kind's constructor takes, from the options of the same name."""
    shape = IMAGE_SHAPES[s["dataset"]]
    known = {**s, "d_in": math.prod(shape), "image_shape": list(shape), "dtype": "float32"}
    return {"kind": s["model"], **{name: known[name] for name in models.settings(s["model"]) if name in known}}


def _test_split(data, binarize):
    return fixed_binarization(data.x_test, TEST_BINARIZATION_SEED) if binarize else data.x_test


def _load_data(name, data_dir):
    """load_dataset, with its complaints about the user's data files as DataError.

    Transitional: datasets.py still raises ValueError / FileNotFoundError for a bad or
    missing file; once it raises DataError this is just load_dataset.
    """
    try:
        return load_dataset(name, data_dir)
    except MinivaeError:
        raise
    except (ValueError, FileNotFoundError) as err:
        raise DataError(str(err)) from err


def _checkpoint_path(arg):
    path = Path(arg)
    return path / "checkpoint.npz" if path.is_dir() else path


# ---------------------------------------------------------------------------- the run folder

class RunLock:
    """Exclusive use of a run folder: a lock file created with O_EXCL holding our pid.

    A lock whose process is gone (a killed run) is stale and taken over.
    """

    def __init__(self, folder):
        self.path = Path(folder) / LOCK

    def __enter__(self):
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                pid = _lock_owner(self.path)
                if pid is None or _alive(pid):
                    who = "another training" + ("" if pid is None else f" (process {pid})")
                    raise InputError(f"{who} is writing into {self.path.parent}; wait for it to finish or "
                                     f"choose another --out (if none is running, delete {self.path})") from None
                self.path.unlink(missing_ok=True)                # left by a run that was killed
                continue
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            return self
        raise InputError(f"could not lock {self.path.parent}; another training is starting there")

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)
        return False


def _lock_owner(path):
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale_temporaries(out):
    """Remove the .*.tmp files an earlier, killed run left in its folder (we hold the lock)."""
    for tmp in out.glob(".*.tmp"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)


def _clear_run_files(out):
    """Remove the files of the run in out (checkpoint, history, figures), nothing else."""
    from .figures import RUN_FIGURES
    for name in (*RUN_FILES, *RUN_FIGURES):
        (out / name).unlink(missing_ok=True)


def _clear_figures(out):
    from .figures import RUN_FIGURES
    for name in RUN_FIGURES:
        (out / name).unlink(missing_ok=True)


def _write_history(path, history):
    with checkpoint.writing(path):
        text = json.dumps(history, indent=1, allow_nan=False)
        with atomic_file(path, "w") as f:
            f.write(text)


# ---------------------------------------------------------------------------- train

def cmd_train(a):
    if a.resume is not None:
        given = sorted(f"--{k.replace('_', '-')}" for k, v in vars(a).items()
                       if k not in RESUME_OPTIONS and k != "command" and v not in (None, False))
        if given:
            raise InputError(f"--resume continues a run with its own settings; {', '.join(given)} cannot be "
                             "given with it (only --epochs, --data-dir, --quiet, --progress, --no-figures)")
        _at_least("epochs", a.epochs, 1, MAX_EPOCHS)
        ckpt = _checkpoint_path(a.resume)
        out = ckpt.parent
    else:
        s = _settings(a)
        config = _model_config(s)
        models.check_config(config)
        n_train = TRAIN_SIZES[s["dataset"]]
        if s["batch_size"] > n_train:
            raise InputError(f"--batch-size {s['batch_size']:,} is larger than the {n_train:,} training images "
                             f"of {s['dataset']}; give at most {n_train} (one step per epoch on the whole set)")
        rows = s["batch_size"] * (s["k"] if s["objective"] == "iwae" else 1)
        models.check_fits_in_memory(config, batch_size=rows, what="the model these options ask for"
                                        + (f" with k = {s['k']} samples per example" if s["objective"] == "iwae" else ""))
        out = Path(a.out or f"runs/{s['dataset']}-{s['model']}")
        ckpt = out / "checkpoint.npz"
        if out.exists() and not out.is_dir():
            raise InputError(f"--out {out} is a file, not a folder")
        _refuse_existing_run(out, a.overwrite)

    if a.resume is not None:
        if not ckpt.is_file():
            raise CheckpointError(f"no checkpoint at {ckpt} to resume")
        with RunLock(out):
            return _train_locked(a, out, ckpt, None)
    data = _load_data(s["dataset"], a.data_dir)
    out.mkdir(parents=True, exist_ok=True)
    with RunLock(out):
        _refuse_existing_run(out, a.overwrite)          # again, now that the folder is ours
        return _train_locked(a, out, ckpt, (s, config, data))


def _refuse_existing_run(out, overwrite):
    existing = [name for name in RUN_FILES if (out / name).exists()]
    if existing and not overwrite:
        raise InputError(f"{out} already holds a run ({', '.join(existing)}); pass --overwrite to replace "
                         f"it, --resume {out} to continue it, or choose another --out")


def _train_locked(a, out, ckpt, fresh):
    from ..fast.optim import FastAdam
    from ..train import set_output_bias_to_data_mean, train

    _clean_stale_temporaries(out)
    if fresh is None:                                   # --resume
        model, history, optimizer, rng = checkpoint.load_for_resume(ckpt)
        run = _check_run(history.get("run"), ckpt)
        data = _load_data(run["dataset"], a.data_dir)
        _check_data_fits(model, data, run["dataset"], ckpt)
        history.pop("run")
        if a.epochs is not None and a.epochs < len(history["train_loss"]):
            raise InputError(f"--epochs {a.epochs} is before epoch {len(history['train_loss'])}, which "
                             f"{ckpt} has already reached; give a later epoch to train further")
        run["epochs"] = a.epochs if a.epochs is not None else run["epochs"]
        if run["epochs"] > len(history["train_loss"]):
            _clear_figures(out)                         # they belong to an earlier epoch than the next checkpoint
        _write_history(out / "history.json", {"run": run, **history})   # as the checkpoint says
        done = len(history["train_loss"])
        verb = f"resuming from epoch {done}:"
    else:
        s, config, data = fresh
        if a.overwrite:
            _clear_run_files(out)
        rng = np.random.default_rng(s["seed"])          # the one Generator: initialisation, then training
        model = models.build_model(config, rng=rng)
        if s["output_bias"] == "data-mean":
            set_output_bias_to_data_mean(model, data.x_train)
        optimizer = FastAdam(model.params, lr=s["lr"], eps=s["adam_eps"])
        run = {"dataset": s["dataset"], "binarize": s["binarize"], "seed": s["seed"], "epochs": s["epochs"],
               "batch_size": s["batch_size"], "lr": s["lr"], "lr_schedule": s["lr_schedule"],
               "adam_eps": s["adam_eps"], "beta": s["beta"], "warmup_epochs": s["warmup_epochs"],
               "recipe": a.recipe, "objective": s["objective"],
               "k": s["k"] if s["objective"] == "iwae" else None, "output_bias": s["output_bias"]}
        history, done = None, 0
        verb = "training"
    x_test = _test_split(data, run["binarize"])
    saved = [done] if done else []                     # epochs whose checkpoint this run has
    written = []

    def on_epoch(epoch, hist):
        checkpoint.save(ckpt, model, {"run": run, **hist}, optimizer=optimizer, rng=rng)
        saved.append(epoch)
        _write_history(out / "history.json", {"run": run, **hist})
        if ckpt not in written:
            written.extend([ckpt, out / "history.json"])

    schedule = "" if run["lr_schedule"] is None else f", {len(run['lr_schedule'])}-stage lr schedule"
    latent = model.config.get("latent_dims", model.config.get("latent_dim"))
    print(f"{verb} a {model.kind.upper()} ({model.config.get('arch', 'mlp')}, {model.likelihood} decoder, latent "
          f"{latent}) on {run['dataset']}: {len(data.x_train)} train / {len(x_test)} test examples, "
          f"epochs {done + 1}..{run['epochs']}, batch {run['batch_size']}{schedule}; run folder {out}",
          file=sys.stderr)
    try:
        history = train(model, data.x_train, x_test, epochs=run["epochs"], batch_size=run["batch_size"],
                        lr=run["lr"], beta=run["beta"], warmup_epochs=run["warmup_epochs"],
                        binarize_data=run["binarize"], rng=rng, optimizer=optimizer,
                        lr_schedule=run["lr_schedule"], progress=wanted(a.quiet, a.progress), on_epoch=on_epoch,
                        history=history, objective=run.get("objective", "elbo"), k=run.get("k") or 5)
    except TrainingDiverged as err:
        kept = (f"Saved: the last good checkpoint of this run is {ckpt} (epoch {saved[-1]})." if saved
                else "Nothing saved: no epoch finished, so this run wrote no checkpoint.")
        raise TrainingDiverged(f"{err} {kept}") from None
    except KeyboardInterrupt:
        where = (f"the last checkpoint of this run is {ckpt} (epoch {saved[-1]}); continue with "
                 f"`python -m minivae train --resume {out}`" if saved else "no epoch finished, nothing was saved")
        raise Interrupted(where) from None
    if not history["train_loss"]:
        raise InputError(f"{ckpt} holds no finished epoch")
    if not a.no_figures:
        from .figures import run_figures
        try:
            written.extend(run_figures(model, history, data, x_test, out, rng))
        except KeyboardInterrupt:
            raise Interrupted(f"the run is saved in {ckpt} (epoch {saved[-1]}); its figures were not all "
                              "drawn") from None
    last = {k: history[k][-1] for k in ("test_loss", "test_reconstruction", "test_kl")}
    vae = models.defines_p_x(model.kind)
    name = "-ELBO" if vae else "reconstruction loss"
    print(f"test {name} {last['test_loss']:.2f} " + (f"nats (reconstruction {last['test_reconstruction']:.2f}, "
                                                    f"KL {last['test_kl']:.2f})" if vae else
                                                    f"({_ae_loss_name(model)})"))
    if written:
        print("wrote " + ", ".join(str(p) for p in written))
    else:
        print(f"the run in {out} had already reached epoch {done}; nothing to write (--epochs N trains further)")
    return 0


def _check_run(run, path):
    """The run settings stored in a checkpoint, checked before they drive training."""
    from ..models import _is_int, _is_real
    from ..train import check_lr_schedule
    if not isinstance(run, dict):
        raise CheckpointError(f"{path} records no run settings, so the command line cannot resume it")
    need = {"dataset": lambda v: v in DATASETS, "binarize": lambda v: isinstance(v, bool),
            "seed": lambda v: _is_int(v) and v >= 0, "epochs": lambda v: _is_int(v) and v >= 1,
            "batch_size": lambda v: _is_int(v) and v >= 1,
            "lr": lambda v: _is_real(v) and v > 0, "beta": lambda v: _is_real(v) and v >= 0,
            "warmup_epochs": lambda v: _is_real(v) and v >= 0}
    for field, ok in need.items():
        if field not in run or not ok(run[field]):
            raise CheckpointError(f"{path}: the stored run setting {field!r} is missing or invalid "
                                  f"({run.get(field)!r}); it cannot be resumed")
    objective, k = run.get("objective", "elbo"), run.get("k")
    if objective not in ("elbo", "iwae") or (objective == "iwae" and not (
            _is_int(k) and k >= 1)):
        raise CheckpointError(f"{path}: the stored objective {objective!r} (k = {k!r}) is invalid; "
                              "it cannot be resumed")
    try:
        run["lr_schedule"] = check_lr_schedule(run.get("lr_schedule"))
    except InputError as e:
        raise CheckpointError(f"{path}: {e}") from None
    return run


def _check_data_fits(model, data, dataset, path):
    if data.x_train.shape[1] != model.d_in:
        raise InputError(f"{path} holds a model of {model.d_in} inputs but {dataset} has "
                         f"{data.x_train.shape[1]} pixels per image; pass the dataset it was trained on")


def _ae_loss_name(model):
    return "squared error per example" if model.likelihood == "mse" else "cross-entropy per example, nats"


# ---------------------------------------------------------------------------- evaluate, sample, figures

def cmd_evaluate(a):
    from ..evaluate import latent_diagnostics, log_likelihood, negative_elbo
    from ..losses import LossParts

    _at_least("iw_samples", a.iw_samples, 0, MAX_IW_SAMPLES)
    _at_least("n_examples", a.n_examples)
    _at_least("seed", a.seed, 0)
    out = None if a.out is None else _new_file(a.out, ".json", a.overwrite)
    path = _checkpoint_path(a.checkpoint)
    model, history = checkpoint.load(path)
    run = history.get("run", {})
    for field, ok in (("dataset", lambda v: v in DATASETS), ("binarize", lambda v: isinstance(v, bool))):
        if field in run and not ok(run[field]):
            raise CheckpointError(f"{path}: the stored run setting {field!r} is invalid ({run[field]!r})")
    dataset = a.dataset or run.get("dataset")
    if dataset not in DATASETS:
        raise InputError(f"{path} does not record its dataset; pass --dataset")
    vae = models.defines_p_x(model.kind)                # q(z|x), p(z), p(x|z): an ELBO and log p(x)
    if a.iw_samples and not vae:
        raise InputError("--iw-samples needs a VAE: an autoencoder defines no p(x)")
    data = _load_data(dataset, a.data_dir)
    _check_data_fits(model, data, dataset, path)
    binarize = run.get("binarize", model.likelihood == "bernoulli" and vae)
    x = _test_split(data, binarize)
    if a.n_examples is not None:
        if a.n_examples > len(x):
            raise InputError(f"--n-examples {a.n_examples:,} is more than the {len(x):,} test examples of "
                             f"{dataset}; give at most {len(x)}, or leave it out to use them all")
        x = x[:a.n_examples]
    bar = Progress(f"log p(x), IW-{a.iw_samples}", len(x), "examples", enabled=wanted(a.quiet, a.progress))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if model.kind == "hvae":              # the same draws as negative_elbo, with the KL of every level
            levels = model.elbo_parts(x, seed=a.seed)
            parts = LossParts(levels["loss"], levels["reconstruction"], levels["kl"])
        else:
            parts = negative_elbo(model, x, seed=a.seed)
        ll = (float(np.mean(log_likelihood(model, x, k=a.iw_samples, seed=a.seed, progress=bar)))
              if a.iw_samples else None)
        bar.close()
    if not all(math.isfinite(v) for v in (*parts, 0.0 if ll is None else ll)):
        raise InputError(f"evaluating {path} on {dataset} gave a non-finite number ({parts.loss}); the model "
                         "overflows on this data")
    trained = history.get("train_loss")                 # which checkpoint this is: its epochs so far
    if vae:
        result = {"dataset": dataset, "n_examples": len(x), "model": model.kind, "negative_elbo": parts.loss,
                  "reconstruction": parts.reconstruction, "kl": parts.kl, "log_likelihood": ll,
                  "iw_samples": a.iw_samples or None}
    else:
        result = {"dataset": dataset, "n_examples": len(x), "model": "ae",
                  "reconstruction_loss": parts.reconstruction, "loss": _ae_loss_name(model)}
    result["epochs"] = len(trained) if isinstance(trained, list) else None
    if model.kind == "vae":                   # Burda et al.'s count: dimensions with Var_x(mu_j(x)) > 0.01
        result["active_units"] = latent_diagnostics(model, x)["active_units"]
    if model.kind == "hvae":                  # the KL and the active units of every level, bottom first
        result["kl_per_level"] = levels["kl_per_level"]
        result["active_units_per_level"] = [lev["active_units"] for lev in model.latent_diagnostics(x)]
    if out is not None:
        with checkpoint.writing(out):
            with atomic_file(out, "w") as f:
                f.write(json.dumps(result, allow_nan=False) + "\n")
    if a.json:
        print(json.dumps(result, allow_nan=False))
    elif vae:
        print(f"{dataset} test set, {len(x)} examples, per example in nats:")
        print(f"  -ELBO          {parts.loss:9.2f}  = reconstruction {parts.reconstruction:.2f} + KL {parts.kl:.2f}")
        if a.iw_samples:
            print(f"  log p(x) IW-{a.iw_samples:<5d}{ll:9.2f}  (ELBO gap {parts.loss + ll:.2f})")
        if model.kind == "vae":
            print(f"  active units   {result['active_units']} of {model.latent_dim}")
        if model.kind == "hvae":
            kl = ", ".join(f"{v:.2f}" for v in result["kl_per_level"])
            print(f"  KL per level   {kl} (bottom first); active units {result['active_units_per_level']}")
    else:
        print(f"{dataset} test set, {len(x)} examples, autoencoder:")
        print(f"  reconstruction loss {parts.reconstruction:9.2f}  ({_ae_loss_name(model)})")
    if out is not None:
        print(f"wrote {out}", file=sys.stderr)
    return 0


def _new_file(name, suffix, overwrite):
    """The Path of a file a command is about to write: it ends in suffix, is not a folder, and
    is not replaced without --overwrite."""
    out = Path(name)
    if out.suffix.lower() != suffix:
        raise InputError(f"--out must be a {suffix} file; got {name}")
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name ending in {suffix}")
    if out.exists() and not overwrite:
        raise InputError(f"{out} already exists; pass --overwrite to replace it, or choose another --out")
    return out


def cmd_sample(a):
    from ..plots import image_grid, save

    _at_least("n", a.n, 1, MAX_SAMPLES)
    _at_least("seed", a.seed, 0)
    path = _checkpoint_path(a.checkpoint)
    out = _new_file(a.out or path.parent / f"samples-n{a.n}-seed{a.seed}.png", ".png", a.overwrite)
    model, history = checkpoint.load(path)
    if not models.defines_p_x(model.kind):
        raise InputError("sampling needs a VAE: an autoencoder has no prior to sample codes from")
    shape = model.config.get("image_shape") or _guess_image_shape(model.d_in)
    images = model.sample(a.n, np.random.default_rng(a.seed))
    n_cols = min(a.n, max(10, math.ceil(math.sqrt(a.n))))
    with checkpoint.writing(out):
        save(image_grid(images, shape, n_cols=n_cols), out)
    print(f"wrote {a.n} samples to {out}")
    return 0


def _guess_image_shape(d):
    return {784: (1, 28, 28), 560: (1, 28, 20)}.get(d) or (1, 1, d)


def cmd_figures(a):
    from .figures import ALL_FIGURES, MAX_FIGURE_EPOCHS, make_all_figures
    _at_least("epochs", a.epochs, 1, MAX_FIGURE_EPOCHS)
    _at_least("seed", a.seed, 0)
    out = Path(a.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")
    there = [name for name in ALL_FIGURES if (out / name).exists()]
    if there and not a.overwrite:
        raise InputError(f"{out} already holds {len(there)} of the figures ({', '.join(there[:3])}"
                         f"{', ...' if len(there) > 3 else ''}); pass --overwrite to replace them, or choose "
                         "another --out")
    _load_data(a.dataset, a.data_dir)                   # a bad data file: one line, before any training
    bar = Progress("figures", 1.0, enabled=wanted(a.quiet, a.progress))
    before = {name: (out / name).stat().st_mtime_ns for name in ALL_FIGURES if (out / name).exists()}
    try:
        written = make_all_figures(out, dataset=a.dataset, data_dir=a.data_dir, epochs=a.epochs, seed=a.seed,
                                   progress=lambda done, total, note: bar.update(done, total, f"next: {note}"))
    except KeyboardInterrupt:
        bar.close()
        new = [name for name in ALL_FIGURES if (out / name).exists()
               and before.get(name) != (out / name).stat().st_mtime_ns]
        raise Interrupted(f"wrote {len(new)} of the {len(ALL_FIGURES)} figures into {out}"
                          + (f" ({', '.join(new)})" if new else "")
                          + f"; run it again with --overwrite to draw them all") from None
    bar.close()
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} figures in {out}, {seconds_text(bar.elapsed())}", file=sys.stderr)
    return 0


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, with what the command had written and how to go on."""


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "sample": cmd_sample, "figures": cmd_figures}


def _terminate(signum, frame):
    raise KeyboardInterrupt             # SIGTERM unwinds like Ctrl-C: temporaries and the lock go


def main(argv=None):
    args = _parser().parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        return COMMANDS[args.command](args)
    except MinivaeError as err:
        print(f"minivae {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        if err.filename is None:        # not about a file the user named: a bug, keep the traceback
            raise
        print(f"minivae {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        said = f"; {stop}" if isinstance(stop, Interrupted) else "; it had written no file of its own yet"
        print(f"\nminivae {args.command}: interrupted{said}", file=sys.stderr)
        return 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
