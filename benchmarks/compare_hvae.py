#!/usr/bin/env python
r"""The single-level VAE against the two-level HierarchicalVAE, trained the same way.

    python benchmarks/compare_hvae.py                                  # embedded MNIST subset
    python benchmarks/compare_hvae.py --dataset mnist --data-dir ../shared/data/mnist \
        --epochs 10 --seeds 0 1 2 --iw-k 1000 --iw-examples 10000

Both models: ReLU MLPs, a Bernoulli decoder, dynamic binarization of the training images,
Adam, batch 128, the same epochs, learning rate and KL warm-up; the test split is the
fixed binarization the command line uses. Defaults give similar parameter counts:
VAE 784 -> 530 -> 2x32 / 32 -> 530 -> 784 (883,828 parameters), and HierarchicalVAE with latent_dims (32, 16),
hidden (400, 100) and its decoder reading both levels (891,944 parameters; 885,544 with
--decoder-reads z1; see minivae/hierarchical.py for its networks). For each model and seed
it prints the parameter count, seconds per epoch, the test -ELBO with its reconstruction
and KL (per level for the hierarchical model), active units per level, and the
importance-weighted log p(x) with --iw-k samples on the first --iw-examples test images.
With --json PATH it also writes every number to PATH, and

    python benchmarks/compare_hvae.py --summarize RUN.json [RUN.json ...]

prints each model's mean and range over the seeds of those files.
"""
import argparse
import json
import time

import numpy as np

from minivae import VAE, HierarchicalVAE
from minivae.app.cli import _test_split
from minivae.datasets import load_dataset
from minivae.evaluate import latent_diagnostics, log_likelihood, negative_elbo
from minivae.train import train


def build(kind, d, rng, a):
    if kind == "vae":
        return VAE(d, hidden=[a.vae_hidden], latent_dim=a.vae_latent, rng=rng)
    return HierarchicalVAE(d, latent_dims=a.latent_dims, hidden=a.hidden, rng=rng,
                           decoder_reads=a.decoder_reads, decoder_hidden=a.decoder_hidden)


def run(kind, seed, data, x_test, a):
    rng = np.random.default_rng(seed)
    model = build(kind, data.x_train.shape[1], rng, a)
    history = train(model, data.x_train, None, epochs=a.epochs, batch_size=128, lr=a.lr,
                    warmup_epochs=a.warmup_epochs, binarize_data=True, rng=rng)
    x_iw = x_test[:a.iw_examples]
    result = {"model": kind, "seed": seed, "params": int(sum(p.size for p in model.params.values())),
              "seconds_per_epoch": float(np.median(history["seconds"])),
              "train_loss_last_epoch": history["train_loss"][-1]}
    if kind == "vae":
        parts = negative_elbo(model, x_test, seed=seed)
        result.update(negative_elbo=parts.loss, reconstruction=parts.reconstruction, kl=parts.kl,
                      kl_per_level=[parts.kl],
                      active_units=[latent_diagnostics(model, x_test)["active_units"]])
        iw = log_likelihood(model, x_iw, k=a.iw_k, seed=seed) if a.iw_k else None
    else:
        parts = model.elbo_parts(x_test, seed=seed)
        result.update(negative_elbo=parts["loss"], reconstruction=parts["reconstruction"],
                      kl=parts["kl"], kl_per_level=parts["kl_per_level"],
                      active_units=[lev["active_units"] for lev in model.latent_diagnostics(x_test)])
        iw = log_likelihood(model, x_iw, k=a.iw_k, seed=seed) if a.iw_k else None
    result["iw_log_likelihood"] = None if iw is None else float(np.mean(iw))
    return result


def summarize(paths):
    """Mean and range (max - min) over seeds of each model's numbers in the --json files."""
    rows = [r for path in paths for r in json.load(open(path))["results"]]
    keys = ["negative_elbo", "reconstruction", "kl", "iw_log_likelihood", "seconds_per_epoch"]
    for kind in sorted({r["model"] for r in rows}):
        runs = [r for r in rows if r["model"] == kind]
        seeds = sorted(r["seed"] for r in runs)
        print(f"{kind}: seeds {seeds}, {runs[0]['params']} params")
        for key in keys:
            v = np.array([r[key] for r in runs], dtype=float)
            print(f"  {key:18s} mean {v.mean():8.2f}  range {v.max() - v.min():5.2f}  ({', '.join(f'{x:.2f}' for x in v)})")
        per_level = np.array([r["kl_per_level"] for r in runs])
        print(f"  {'kl_per_level':18s} mean {np.round(per_level.mean(axis=0), 2)}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="mnist-subset", choices=["mnist-subset", "mnist"])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--models", nargs="+", default=["vae", "hvae"], choices=["vae", "hvae"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup-epochs", type=float, default=0.0)
    p.add_argument("--vae-hidden", type=int, default=530)
    p.add_argument("--vae-latent", type=int, default=32)
    p.add_argument("--latent-dims", type=int, nargs="+", default=[32, 16])
    p.add_argument("--hidden", type=int, nargs="+", default=[400, 100])
    p.add_argument("--decoder-reads", default="all", choices=["all", "z1"])
    p.add_argument("--decoder-hidden", type=int, default=None)
    p.add_argument("--iw-k", type=int, default=100)
    p.add_argument("--iw-examples", type=int, default=500)
    p.add_argument("--json", default=None)
    p.add_argument("--summarize", nargs="+", default=None, metavar="RUN.json")
    a = p.parse_args(argv)
    if a.summarize:
        return summarize(a.summarize)
    data = load_dataset(a.dataset, a.data_dir)
    x_test = _test_split(data, True)
    results = []
    print(f"{a.dataset}: {len(data.x_train)} train / {len(x_test)} test, {a.epochs} epochs, lr {a.lr}, "
          f"warm-up {a.warmup_epochs} epochs; IW k={a.iw_k} on {min(a.iw_examples, len(x_test))} test images")
    print("model  seed  params   s/epoch  test -ELBO  rec      KL (per level, bottom first)   active units  IW log p(x)")
    for seed in a.seeds:
        for kind in a.models:
            start = time.perf_counter()
            r = run(kind, seed, data, x_test, a)
            r["total_seconds"] = time.perf_counter() - start
            results.append(r)
            kls = " + ".join(f"{v:.2f}" for v in r["kl_per_level"])
            iw = "-" if r["iw_log_likelihood"] is None else f"{r['iw_log_likelihood']:.2f}"
            print(f"{kind:5s}  {seed:4d}  {r['params']:7d}  {r['seconds_per_epoch']:7.1f}  "
                  f"{r['negative_elbo']:10.2f}  {r['reconstruction']:7.2f}  {r['kl']:6.2f} ({kls})"
                  f"{'':>6}{r['active_units']!s:14s}{iw:>10s}", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"args": vars(a), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
