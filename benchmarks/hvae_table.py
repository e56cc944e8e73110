#!/usr/bin/env python
r"""The table in docs/results.md of VAE against HierarchicalVAE runs, from their run folders.

    python benchmarks/hvae_table.py --data-dir ../shared/data/mnist runs/h11/vae-s0 runs/h11/hvae-s0 ...

Each RUN is a folder written by ``python -m minivae train`` and evaluated with
``python -m minivae evaluate RUN --iw-samples 1000 --json > RUN.eval.json``. Prints one
markdown row per run (parameters, median seconds per epoch, the evaluation's test -ELBO,
reconstruction, KL per level, active units per level and IW log p(x)), then each model's
mean and range (max - min) over its runs. With --figures DIR it also draws, from the first
VAE run and the first HierarchicalVAE run given, DIR/vae_vs_hvae_samples_mnist.png (50
samples of each, titled with its IW log p(x) from RUN.eval.json) and
DIR/hvae_levels_mnist.png (plots.hierarchy_levels: one top level per row, the level below
redrawn), with one Generator seeded from --seed.
"""
import argparse
import json
from pathlib import Path

import numpy as np

from minivae.app import checkpoint
from minivae.datasets import TEST_BINARIZATION_SEED, fixed_binarization, load_dataset
from minivae.evaluate import latent_diagnostics
from minivae.plots import hierarchy_levels, samples_side_by_side, save


def row(run, data_dir, test_sets):
    run = Path(run)
    model, history = checkpoint.load(run / "checkpoint.npz")
    dataset = history["run"]["dataset"]
    if dataset not in test_sets:                      # the fixed binarization evaluate uses
        test_sets[dataset] = fixed_binarization(load_dataset(dataset, data_dir).x_test, TEST_BINARIZATION_SEED)
    x_test = test_sets[dataset]
    result = json.loads(run.with_name(run.name + ".eval.json").read_text())
    if model.kind == "hvae":
        kls, active = result["kl_per_level"], result["active_units_per_level"]
    else:
        kls = [result["kl"]]
        active = [latent_diagnostics(model, x_test[:result["n_examples"]])["active_units"]]
    name = "VAE"
    if model.kind == "hvae":
        name = "HierarchicalVAE" + (", decoder reads z_1" if model.decoder_reads == "z1" else "")
    return {"model": name, "checkpoint": model,
            "seed": history["run"]["seed"], "epochs": len(history["train_loss"]),
            "params": int(sum(p.size for p in model.params.values())),
            "seconds_per_epoch": float(np.median(history["seconds"])),
            "negative_elbo": result["negative_elbo"], "reconstruction": result["reconstruction"],
            "kls": kls, "active": active, "iw": result["log_likelihood"], "k": result["iw_samples"],
            "n": result["n_examples"]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--figures", metavar="DIR", default=None)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    test_sets = {}
    rows = [row(run, a.data_dir, test_sets) for run in a.runs]
    print("| model | seed | epochs | parameters | s/epoch | test −ELBO | reconstruction | KL per level "
          "(bottom first) | active units | IW log p(x) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['seed']} | {r['epochs']} | {r['params']:,} | {r['seconds_per_epoch']:.1f} | "
              f"{r['negative_elbo']:.2f} | {r['reconstruction']:.2f} | "
              f"{' + '.join(f'{v:.2f}' for v in r['kls'])} | {', '.join(map(str, r['active']))} | {r['iw']:.2f} |")
    print(f"\n(IW log p(x) with k = {rows[0]['k']} on {rows[0]['n']:,} test images)")
    for model in dict.fromkeys(r["model"] for r in rows):
        runs = [r for r in rows if r["model"] == model]
        for key, name in (("negative_elbo", "test -ELBO"), ("iw", "IW log p(x)"),
                          ("seconds_per_epoch", "s/epoch")):
            v = np.array([r[key] for r in runs])
            print(f"{model:16s} {name:12s} mean {v.mean():8.2f}  range {v.max() - v.min():5.2f}  "
                  f"over seeds {[r['seed'] for r in runs]}")
    if a.figures:
        draw(rows, Path(a.figures), np.random.default_rng(a.seed))


def draw(rows, out, rng):
    """The pair of sample panels and the levels figure, from the first run of each model."""
    vae = next(r for r in rows if r["model"] == "VAE")
    hvae = next(r for r in rows if r["model"].startswith("HierarchicalVAE"))
    shape = (1, 28, 28)
    notes = [f"log p(x) = {r['iw']:.2f} nats (IW-{r['k']}), {r['params']:,} parameters" for r in (vae, hvae)]
    fig = samples_side_by_side([vae["checkpoint"], hvae["checkpoint"]],
                               [f"VAE, seed {vae['seed']}", f"hierarchical VAE, seed {hvae['seed']}"],
                               rng, shape, notes=notes,
                               title=f"{vae['epochs']} epochs each; log p(x) on {vae['n']:,} test images")
    save(fig, out / "vae_vs_hvae_samples_mnist.png")
    kls = ", ".join(f"$z_{l}$ {kl:.2f}" for l, kl in enumerate(hvae["kls"], start=1))
    save(hierarchy_levels(hvae["checkpoint"], rng, shape, note=f"KL per level on the {hvae['n']:,} test "
                          f"images: {kls} nats"), out / "hvae_levels_mnist.png")
    print(f"wrote {out / 'vae_vs_hvae_samples_mnist.png'} and {out / 'hvae_levels_mnist.png'}")


if __name__ == "__main__":
    main()
