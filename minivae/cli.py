"""The command line: python -m minivae {train, evaluate, sample, figures}.

Every command prints one clear line (and exits with status 2) for bad arguments, missing
files, corrupt checkpoints or failed downloads, instead of a traceback.
"""
import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from . import checkpoint
from .atomic import atomic_file
from .datasets import DATASETS, TEST_BINARIZATION_SEED, fixed_binarization, load_dataset
from .download import DownloadError
from .train import TrainingDiverged



def _parser():
    p = argparse.ArgumentParser(prog="minivae", description="Autoencoders and VAEs from scratch in NumPy.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a VAE or autoencoder; writes checkpoint, history and figures",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--dataset", choices=DATASETS, default="mnist-subset")
    t.add_argument("--model", choices=["vae", "ae", "hvae"], default="vae")
    t.add_argument("--arch", choices=["mlp", "conv"], default="mlp")
    t.add_argument("--likelihood", choices=["bernoulli", "gaussian", "gaussian-learned"], default=None,
                   help="decoder distribution (default: bernoulli; gaussian-learned for frey; "
                        "gaussian (MSE) for --model ae)")
    t.add_argument("--sigma", type=float, default=0.1, help="fixed decoder std for --likelihood gaussian (VAE)")
    t.add_argument("--hidden", type=int, nargs="+", default=[400], help="MLP hidden layer sizes")
    t.add_argument("--channels", type=int, nargs=2, default=[32, 64], help="conv channels (--arch conv)")
    t.add_argument("--activation", choices=["relu", "tanh", "leaky_relu", "sigmoid"], default="relu")
    t.add_argument("--latent-dim", type=int, default=20)
    t.add_argument("--latent-dims", type=int, nargs="+", default=[32, 16], help="--model hvae: level sizes, bottom first (--hidden: one size per level, or one for all)")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--beta", type=float, default=1.0, help="weight of the KL term")
    t.add_argument("--warmup-epochs", type=float, default=0.0, help="linear KL warm-up from 0 to beta")
    t.add_argument("--binarize", choices=["dynamic", "none"], default=None,
                   help="dynamic binarization of the training data (default: dynamic for a "
                        "Bernoulli VAE, none otherwise)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--data-dir", default=None, help="folder with IDX files (else $MINIVAE_DATA, else a cache)")
    t.add_argument("--out", default=None, help="output folder (default runs/DATASET-MODEL)")
    t.add_argument("--no-figures", action="store_true")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser("evaluate", help="test negative ELBO, its parts, and an importance-weighted log p(x)")
    e.add_argument("checkpoint")
    e.add_argument("--iw-samples", type=int, default=0, metavar="K", help="importance samples (0: skip)")
    e.add_argument("--n-examples", type=int, default=None, help="use only the first N test examples")
    e.add_argument("--dataset", choices=DATASETS, default=None, help="default: the one it was trained on")
    e.add_argument("--data-dir", default=None)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--json", action="store_true", help="machine-readable output")

    s = sub.add_parser("sample", help="draw samples z ~ N(0, I) and decode them into a PNG grid")
    s.add_argument("checkpoint")
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--out", default="samples.png")
    s.add_argument("--seed", type=int, default=0)

    f = sub.add_parser("figures", help="regenerate every figure in figures/")
    f.add_argument("--out", default="figures")
    f.add_argument("--dataset", choices=["mnist-subset", "mnist"], default="mnist-subset")
    f.add_argument("--data-dir", default=None)
    f.add_argument("--epochs", type=int, default=None, help="epochs per model (default: sized to the dataset)")
    f.add_argument("--seed", type=int, default=0)
    return p


def _test_split(data, binarize):
    return fixed_binarization(data.x_test, TEST_BINARIZATION_SEED) if binarize else data.x_test


def cmd_train(a):
    from .autoencoder import Autoencoder
    from .train import train
    from .vae import VAE

    for name in ("epochs", "batch_size", "latent_dim"):
        if getattr(a, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1; got {getattr(a, name)}")
    if min(a.hidden) < 1 or min(a.channels) < 1:
        raise ValueError(f"--hidden and --channels sizes must be at least 1; got {a.hidden} and {a.channels}")
    if not (math.isfinite(a.lr) and a.lr > 0 and math.isfinite(a.beta) and a.beta >= 0
            and math.isfinite(a.sigma) and a.sigma > 0 and a.warmup_epochs >= 0):
        raise ValueError(f"--lr and --sigma must be positive, --beta and --warmup-epochs non-negative, "
                         f"all finite; got lr={a.lr}, sigma={a.sigma}, beta={a.beta}, "
                         f"warmup-epochs={a.warmup_epochs}")
    data = load_dataset(a.dataset, a.data_dir)
    likelihood = a.likelihood or ("gaussian" if a.model == "ae" else
                                  "gaussian-learned" if a.dataset == "frey" else "bernoulli")
    binarize = (a.binarize or ("dynamic" if (a.model in ("vae", "hvae") and likelihood == "bernoulli") else "none")) == "dynamic"
    rng = np.random.default_rng(a.seed)            # the one Generator: initialisation, then training
    common = dict(d_in=data.x_train.shape[1], hidden=a.hidden, latent_dim=a.latent_dim,
                  likelihood=likelihood, activation=a.activation, rng=rng, arch=a.arch,
                  channels=a.channels, image_shape=data.image_shape)
    model = VAE(sigma=a.sigma, **common) if a.model == "vae" else Autoencoder(**common) if a.model == "ae" else _hvae(a, common)
    out = Path(a.out or f"runs/{a.dataset}-{a.model}")
    out.mkdir(parents=True, exist_ok=True)
    run = {"dataset": a.dataset, "binarize": binarize, "seed": a.seed, "epochs": a.epochs,
           "batch_size": a.batch_size, "lr": a.lr, "beta": a.beta, "warmup_epochs": a.warmup_epochs}
    x_test = _test_split(data, binarize)
    ckpt = out / "checkpoint.npz"
    saved = []                                     # epochs whose checkpoint this run wrote

    def on_epoch(epoch, history):
        if all(np.isfinite(p).all() for p in model.params.values()):
            checkpoint.save(ckpt, model, {"run": run, **history})
            with atomic_file(out / "history.json", "w") as f:
                f.write(json.dumps({"run": run, **history}, indent=1))
            saved.append(epoch)

    print(f"training a {a.model.upper()} ({model.config.get('arch', 'mlp')}, {likelihood} decoder, latent {model.config.get('latent_dims', a.latent_dim)}) "
          f"on {a.dataset}: {len(data.x_train)} train / {len(x_test)} test examples", file=sys.stderr)
    try:
        history = train(model, data.x_train, x_test, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr,
                        beta=a.beta, warmup_epochs=a.warmup_epochs, binarize_data=binarize, rng=rng,
                        progress=not a.quiet, on_epoch=on_epoch)
    except TrainingDiverged as err:
        kept = (f"; the last good checkpoint (epoch {saved[-1]}) is {ckpt}" if saved
                else "; no epoch finished, so no checkpoint was written")
        raise TrainingDiverged(f"{err}{kept}") from None
    if not a.no_figures:
        from .figures import run_figures
        run_figures(model, history, data, x_test, out, rng)
    last = {k: history[k][-1] for k in ("test_loss", "test_reconstruction", "test_kl")}
    print(f"test -ELBO {last['test_loss']:.2f} nats (reconstruction {last['test_reconstruction']:.2f}, "
          f"KL {last['test_kl']:.2f})")
    print(f"wrote {ckpt}, {out / 'history.json'}" + ("" if a.no_figures else f" and figures in {out}/"))
    return 0


def cmd_evaluate(a):
    from .evaluate import log_likelihood, negative_elbo

    model, history = checkpoint.load(a.checkpoint)
    run = history.get("run", {})
    dataset = a.dataset or run.get("dataset")
    if dataset is None:
        raise ValueError(f"{a.checkpoint} does not record its dataset; pass --dataset")
    data = load_dataset(dataset, a.data_dir)
    x = _test_split(data, run.get("binarize", model.likelihood == "bernoulli" and model.kind == "vae"))
    if a.n_examples is not None:
        if a.n_examples < 1:
            raise ValueError(f"--n-examples must be at least 1; got {a.n_examples}")
        x = x[:a.n_examples]
    if a.iw_samples < 0:
        raise ValueError(f"--iw-samples must be >= 0; got {a.iw_samples}")
    parts = negative_elbo(model, x, seed=a.seed)
    result = {"dataset": dataset, "n_examples": len(x), "negative_elbo": parts.loss,
              "reconstruction": parts.reconstruction, "kl": parts.kl,
              "log_likelihood": None, "iw_samples": a.iw_samples or None}
    if a.iw_samples:
        iw = model.log_likelihood if model.kind == "hvae" else lambda *p, **k: log_likelihood(model, *p, **k)
        result["log_likelihood"] = float(np.mean(iw(x, k=a.iw_samples, seed=a.seed)))
    if model.kind == "hvae":                  # the KL and the active units of every level, bottom first
        result["kl_per_level"] = model.elbo_parts(x, seed=a.seed)["kl_per_level"]
        result["active_units_per_level"] = [lev["active_units"] for lev in model.latent_diagnostics(x)]
    if a.json:
        print(json.dumps(result))
    else:
        print(f"{dataset} test set, {len(x)} examples, per example in nats:")
        print(f"  -ELBO          {parts.loss:9.2f}  = reconstruction {parts.reconstruction:.2f} + KL {parts.kl:.2f}")
        if a.iw_samples:
            print(f"  log p(x) IW-{a.iw_samples:<5d}{result['log_likelihood']:9.2f}  "
                  f"(ELBO gap {parts.loss + result['log_likelihood']:.2f})")
        if model.kind == "hvae":
            print(f"  KL per level {result['kl_per_level']} (bottom first), active units {result['active_units_per_level']}")
    return 0


def cmd_sample(a):
    from .plots import image_grid, save

    model, history = checkpoint.load(a.checkpoint)
    if model.kind not in ("vae", "hvae"):
        raise ValueError("sampling needs a VAE: an autoencoder has no prior to sample codes from")
    if a.n < 1:
        raise ValueError(f"--n must be at least 1; got {a.n}")
    shape = model.config.get("image_shape") or _guess_image_shape(model.d_in)
    images = model.sample(a.n, np.random.default_rng(a.seed))
    save(image_grid(images, shape, n_cols=min(a.n, 10)), a.out)
    print(f"wrote {a.n} samples to {a.out}")
    return 0


def _hvae(a, common):
    """The HierarchicalVAE of --model hvae: --latent-dims per level, --hidden per level (or one for all)."""
    from .hierarchical import HierarchicalVAE
    if a.arch != "mlp" or min(a.latent_dims) < 1:
        raise ValueError(f"--model hvae needs --arch mlp and positive --latent-dims; got {a.arch}, {a.latent_dims}")
    hidden = a.hidden * len(a.latent_dims) if len(a.hidden) == 1 else a.hidden
    return HierarchicalVAE(common["d_in"], a.latent_dims, hidden, common["likelihood"], a.sigma,
                           common["activation"], common["rng"])


def _guess_image_shape(d):
    return {784: (1, 28, 28), 560: (1, 28, 20)}.get(d) or (1, 1, d)


def cmd_figures(a):
    from .figures import make_all_figures
    for path in make_all_figures(a.out, dataset=a.dataset, data_dir=a.data_dir, epochs=a.epochs, seed=a.seed):
        print(f"wrote {path}")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "sample": cmd_sample, "figures": cmd_figures}


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, FileNotFoundError, DownloadError, TrainingDiverged, OSError) as err:
        print(f"minivae {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"minivae {args.command}: interrupted", file=sys.stderr)
        return 130
