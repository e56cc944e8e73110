"""The checkpoints stored in the repository (checkpoints/, documented in checkpoints/README.md)
load, have the architecture the README and docs/results.md describe, and evaluate.

Notebook 08 reads one-vs-two-levels/ and notebook 01 reads conv/; a change to the checkpoint
format or to the models that stops them loading fails here first, with the file's name.
"""
from pathlib import Path

import numpy as np
import pytest

from minivae.app.checkpoint import load
from minivae.datasets import fixed_binarization, load_dataset
from minivae.evaluate import log_likelihood, negative_elbo

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


CONV_FOLDER = FOLDER.parent / "conv"

# file: (kind, arch, likelihood, latent size, channels or hidden sizes, parameter count), as
# trained by the commands of checkpoints/README.md, "conv/"; notebook 01 reads them
CONV_STORED = {"ae.npz": ("ae", "conv", "mse", 16, [8, 16], 28_369),
               "vae-bernoulli.npz": ("vae", "conv", "bernoulli", 16, [8, 16], 40_929),
               "vae-gaussian.npz": ("vae", "conv", "gaussian", 16, [8, 16], 40_929),
               "vae-dense.npz": ("vae", "mlp", "bernoulli", 16, [25], 41_266)}


@pytest.mark.parametrize("name", CONV_STORED)
def test_stored_conv_checkpoint_has_the_documented_architecture(name):
    model, history = load(CONV_FOLDER / name)
    kind, arch, likelihood, latent, sizes, count = CONV_STORED[name]
    config = model.config
    assert (config["kind"], config["arch"], config["likelihood"], config["latent_dim"]) == (kind, arch, likelihood, latent)
    assert list(config["channels"] if arch == "conv" else config["hidden"]) == sizes
    assert sum(p.size for p in model.params.values()) == count
    assert len(history["train_loss"]) == 100, "the stored models were trained for 100 epochs"
    assert history["run"]["dataset"] == "mnist-subset"
    if likelihood == "gaussian":
        assert config["sigma"] ** 2 == pytest.approx(0.5, rel=1e-12), "sigma^2 = 1/2: the plain sum of squares"


@pytest.mark.parametrize("name", CONV_STORED)
def test_stored_conv_checkpoint_evaluates_below_the_mean_image(name):
    model, history = load(CONV_FOLDER / name)
    x = load_dataset("mnist-subset").x_test[:20]                              # embedded: no download
    if history["run"]["binarize"]:
        x = fixed_binarization(x)
    parts = negative_elbo(model, x, seed=0)
    assert np.isfinite(parts.loss) and parts.loss == pytest.approx(parts.reconstruction + parts.kl, rel=1e-6)
    mean_image_loss = np.mean(np.sum((x - x.mean(axis=0)) ** 2, axis=1))
    rec = model.reconstruct(x)
    assert np.mean(np.sum((x - rec) ** 2, axis=1)) < mean_image_loss, "a trained model beats the mean image"
    if model.config["kind"] == "vae":
        log_px = log_likelihood(model, x, k=5, seed=0)
        assert log_px.shape == (20,) and np.all(np.isfinite(log_px))
