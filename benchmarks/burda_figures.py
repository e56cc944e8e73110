#!/usr/bin/env python
r"""The two figures of docs/burda2layer.md: Burda et al.'s one-layer and two-layer models.

    python benchmarks/burda_figures.py checkpoints/burda2016-vae-b20 checkpoints/burda2016-2layer --out figures

Each RUN is a run folder (``RUN/checkpoint.npz``) holding the evaluation of that checkpoint,
``RUN/eval-iw5000.json``, written by

    python -m minivae evaluate RUN --data-dir DIR --iw-samples 5000 --out RUN/eval-iw5000.json

(add ``--n-examples 2000`` for the first 2,000 test images; the titles say which). Writes

- OUT/burda2016_samples.png: 50 samples of each model side by side, each titled with its
  epochs, its parameters and its IW log p(x) (``plots.samples_side_by_side``);
- OUT/burda2016_levels.png: what each level of the two-layer model encodes, one z₂ ~ N(0, I)
  per row and z₁ ~ p(z₁ | z₂) redrawn in each column, with the KL of each level
  (``plots.hierarchy_levels``);

with one Generator seeded from --seed, so the same folders and seed give the same pictures.
"""
import argparse
import json
import math
from pathlib import Path

import numpy as np

from minivae.app.checkpoint import load
from minivae.errors import InputError
from minivae.plots import hierarchy_levels, samples_side_by_side, save

EVAL_NAME = "eval-iw5000.json"
NAMES = ("burda2016_samples.png", "burda2016_levels.png")


def read_run(folder, eval_name=EVAL_NAME):
    """(model, history, result) of a run folder: its checkpoint and its evaluation JSON."""
    folder = Path(folder)
    path = folder / eval_name
    if not path.is_file():
        raise InputError(f"{path} does not exist: evaluate the checkpoint first, with "
                         f"python -m minivae evaluate {folder} --data-dir DIR --iw-samples 5000 --out {path}")
    model, history = load(folder / "checkpoint.npz")
    result = json.loads(path.read_text())
    epochs = len(history["train_loss"])
    # An evaluation of another checkpoint (an older epoch of the same run) must not title
    # this one: evaluate records the epochs; older files are matched by the full test set's
    # -ELBO, which evaluate and train compute from the same draws.
    same = (result["epochs"] == epochs if result.get("epochs") is not None
            else math.isclose(result["negative_elbo"], history["test_loss"][-1], rel_tol=1e-9))
    if not same:
        raise InputError(f"{path} evaluates another checkpoint than {folder / 'checkpoint.npz'} (epoch "
                         f"{epochs:,}): evaluate it again, with python -m minivae evaluate {folder} "
                         f"--data-dir DIR --iw-samples 5000 --out {path} --overwrite")
    return model, history, result


def _note(model, history, result):
    n_params = sum(p.size for p in model.params.values())
    return (f"epoch {len(history['test_loss']):,}, {n_params:,} parameters\n"
            f"log p(x) = {result['log_likelihood']:.2f} nats (IW-{result['iw_samples']}, "
            f"{result['n_examples']:,} test images)")


def draw(one, two, rng):
    """The two figures {name: Figure}, from (model, history, result) of each model."""
    (vae, _, _), (hvae, hvae_history, hvae_result) = one, two
    if vae.kind != "vae" or hvae.kind != "hvae":
        raise InputError(f"expected a one-layer VAE, then a HierarchicalVAE; got {vae.kind!r} and {hvae.kind!r}")
    shape = (1, 28, 28)
    samples = samples_side_by_side(
        [vae, hvae], ["one stochastic layer", "two stochastic layers"], rng, shape,
        notes=[_note(*one), _note(*two)],
        title="Burda et al.'s architectures (2016, Table 1), trained with their schedule in minivae")
    kls = ", ".join(f"$z_{l}$ {kl:.2f}" for l, kl in enumerate(hvae_result["kl_per_level"], start=1))
    active = ", ".join(map(str, hvae_result["active_units_per_level"]))
    levels = hierarchy_levels(hvae, rng, shape, note=(
        f"epoch {len(hvae_history['test_loss']):,}; KL per level on {hvae_result['n_examples']:,} test images: "
        f"{kls} nats; active units {active}"))
    return dict(zip(NAMES, (samples, levels)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("one_layer", help="run folder of the one-layer VAE (--recipe burda2016)")
    p.add_argument("two_layer", help="run folder of the two-layer HVAE (--recipe burda2016-2layer)")
    p.add_argument("--eval-name", default=EVAL_NAME, help=f"the evaluation JSON in each folder ({EVAL_NAME})")
    p.add_argument("--out", default="figures")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    figures = draw(read_run(a.one_layer, a.eval_name), read_run(a.two_layer, a.eval_name),
                   np.random.default_rng(a.seed))
    for name, fig in figures.items():
        print(f"wrote {save(fig, Path(a.out) / name)}")       # atomic: a failed render keeps the old file


if __name__ == "__main__":
    main()
