"""The checkpoints stored in the repository (checkpoints/, documented in checkpoints/README.md)
load, have the architecture the README and docs/results.md describe, and evaluate.

Notebook 08 reads them; a change to the checkpoint format or to the models that stops them
loading fails here first, with the file's name.
"""
from pathlib import Path

import numpy as np
import pytest

from minivae.app.checkpoint import load
from minivae.datasets import fixed_binarization, load_dataset
from minivae.evaluate import log_likelihood

FOLDER = Path(__file__).resolve().parent.parent / "checkpoints" / "one-vs-two-levels"

# file: (kind, latent sizes, hidden sizes, parameter count), as trained by the commands of
# docs/results.md, "One level against two (measured here)"
STORED = {"vae-s0.npz": ("vae", [32], [530], 883_828),
          "hvae-s0.npz": ("hvae", [32, 16], [400, 100], 891_944)}


def architecture(config):
    if config["kind"] == "vae":
        return [config["latent_dim"]], list(config["hidden"])
    return list(config["latent_dims"]), list(config["hidden"])


@pytest.mark.parametrize("name", STORED)
def test_stored_checkpoint_has_the_documented_architecture(name):
    model, history = load(FOLDER / name)
    kind, latents, hidden, count = STORED[name]
    assert model.config["kind"] == kind
    assert architecture(model.config) == (latents, hidden)
    assert sum(p.size for p in model.params.values()) == count
    assert len(history["train_loss"]) == 50, "the stored models were trained for 50 epochs"


@pytest.mark.parametrize("name", STORED)
def test_stored_checkpoint_evaluates_to_a_finite_log_likelihood(name):
    model, _ = load(FOLDER / name)
    x = fixed_binarization(load_dataset("mnist-subset").x_test[:20])      # embedded: no download
    log_px = log_likelihood(model, x, k=5, seed=0)
    assert log_px.shape == (20,)
    assert np.all(np.isfinite(log_px)) and np.all(log_px < 0)
