"""The checkpoints stored in the repository (checkpoints/, documented in checkpoints/README.md)
load, have the architecture the README and docs/results.md describe, and evaluate.

Notebook 08 reads one-vs-two-levels/ and notebook 01 reads conv/; a change to the checkpoint
format or to the models that stops them loading fails here first, with the file's name.
"""
import json
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


BURDA_FOLDER = FOLDER.parent

# folder: (kind, recipe, latent sizes, hidden sizes, parameter count), the architectures of
# docs/burda2layer.md, "The recipe" (two layers) and docs/results.md (one layer)
BURDA_STORED = {"burda2016-2layer": ("hvae", "burda2016-2layer", [100, 50], [[200, 200], [100, 100]], 521_084),
                "burda2016-vae-b20": ("vae", "burda2016", [50], [200, 200], 425_284)}
BURDA_EPOCHS = 3_280


@pytest.mark.parametrize("name", BURDA_STORED)
def test_burda_run_folder_has_the_recipes_architecture_and_resumes(name):
    from minivae.app.checkpoint import load_for_resume
    folder = BURDA_FOLDER / name
    model, history = load(folder / "checkpoint.npz")
    kind, recipe, latents, hidden, count = BURDA_STORED[name]
    assert model.config["kind"] == kind and history["run"]["recipe"] == recipe
    assert architecture(model.config) == (latents, hidden)
    assert model.config["activation"] == "tanh" and model.config["likelihood"] == "bernoulli"
    if kind == "hvae":
        assert model.config["inference"] == "bottom-up" and model.config["decoder_hidden"] == [200, 200]
        assert history["run"]["output_bias"] == "data-mean", "the pilot's choice: the authors' output bias"
    assert sum(p.size for p in model.params.values()) == count
    run = history["run"]
    assert (run["dataset"], run["batch_size"], run["epochs"], run["seed"]) == ("mnist", 20, BURDA_EPOCHS, 0)
    assert [epochs for epochs, _ in run["lr_schedule"]] == [3 ** i for i in range(8)]
    n_epochs = len(history["test_loss"])
    assert n_epochs == BURDA_EPOCHS, "the published checkpoints ran the whole schedule"
    assert all(len(history[key]) == n_epochs for key in ("train_loss", "test_kl", "seconds"))
    # the folder is a run that `train --resume` continues: optimizer and Generator state included
    resumed_model, _, optimizer, rng = load_for_resume(folder / "checkpoint.npz")
    assert optimizer.t == n_epochs * (60_000 // 20), "one Adam step per batch of 20, 3,000 per epoch"
    assert all(optimizer.m[key].shape == p.shape for key, p in resumed_model.params.items())
    assert rng.bit_generator.state["state"]["state"] != np.random.default_rng(0).bit_generator.state["state"]["state"]


@pytest.mark.parametrize("name", BURDA_STORED)
def test_burda_checkpoint_evaluates(name):
    model, history = load(BURDA_FOLDER / name / "checkpoint.npz")
    x = fixed_binarization(load_dataset("mnist-subset").x_test[:20])      # embedded: no download
    log_px = log_likelihood(model, x, k=5, seed=0)
    parts = negative_elbo(model, x, seed=0)
    assert log_px.shape == (20,) and np.all(np.isfinite(log_px)) and np.all(log_px < 0)
    # Jensen: the k = 5 bound is at least the ELBO on average (one sample each, both seeded)
    assert -np.mean(log_px) <= parts.loss + 2.0
    # trained on full MNIST: far below the mean image's 206 nats (docs/burda2layer.md, the
    # collapsed pilot run) on these 20 images
    assert -np.mean(log_px) < 110


@pytest.mark.parametrize("name", BURDA_STORED)
def test_burda_folder_holds_the_evaluation_of_its_checkpoint_that_the_docs_quote(name):
    """eval-iw5000.json is IW-5000 on all 10,000 test images of this very checkpoint, and the
    number docs/results.md and docs/burda2layer.md give is that file's, rounded."""
    folder = BURDA_FOLDER / name
    _, _, result = _burda_figures().read_run(folder)      # refuses another checkpoint's evaluation
    assert (result["dataset"], result["n_examples"], result["iw_samples"], result["epochs"]) == ("mnist", 10_000, 5000, BURDA_EPOCHS)
    first = json.loads((folder / "eval-iw5000-first2000.json").read_text())
    assert (first["n_examples"], first["iw_samples"], first["epochs"]) == (2000, 5000, BURDA_EPOCHS)
    docs = BURDA_FOLDER.parent / "docs"
    quoted = f"{result['log_likelihood']:.2f}".replace("-", "\u2212")
    for page in ("results.md", "burda2layer.md"):
        assert quoted in (docs / page).read_text(), f"docs/{page} does not give {name}'s log p(x), {quoted}"


def _burda_figures():
    """benchmarks/burda_figures.py, imported from its path (benchmarks/ is not a package)."""
    import importlib.util
    path = BURDA_FOLDER.parent / "benchmarks" / "burda_figures.py"
    spec = importlib.util.spec_from_file_location("burda_figures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_burda_figures_draw_both_stored_models_with_their_evaluations(tmp_path, capsys):
    import shutil
    from minivae.app.cli import main
    from minivae.errors import InputError
    figures = _burda_figures()
    runs = []
    for name in BURDA_STORED:
        run = tmp_path / name
        run.mkdir()
        shutil.copy(BURDA_FOLDER / name / "checkpoint.npz", run)
        shutil.copy(BURDA_FOLDER / name / "history.json", run)
        runs.append(run)
    two, one = runs                                       # BURDA_STORED lists the two-layer run first
    with pytest.raises(InputError, match="evaluate the checkpoint first"):
        figures.main([str(one), str(two), "--out", str(tmp_path)])
    for run in runs:                                      # a short evaluation on the embedded images
        assert main(["evaluate", str(run), "--dataset", "mnist-subset", "--n-examples", "20",
                     "--iw-samples", "5", "--quiet", "--out", str(run / figures.EVAL_NAME)]) == 0
    capsys.readouterr()
    drawn = figures.draw(figures.read_run(one), figures.read_run(two), np.random.default_rng(0))
    assert list(drawn) == list(figures.NAMES)
    results = [figures.read_run(run)[2] for run in (one, two)]
    titles = [ax.get_title() for ax in drawn["burda2016_samples.png"].axes]
    for title, result, name in zip(titles, results, ("burda2016-vae-b20", "burda2016-2layer")):
        epochs = len(load(BURDA_FOLDER / name / "checkpoint.npz")[1]["test_loss"])
        assert f"log p(x) = {result['log_likelihood']:.2f} nats (IW-5, 20 test images)" in title
        assert f"epoch {epochs:,}," in title
    levels = drawn["burda2016_levels.png"].axes[0].get_title()
    assert "$z_{2}$ fixed along each row" in levels
    assert f"$z_1$ {results[1]['kl_per_level'][0]:.2f}" in levels
    stale = dict(results[0], epochs=results[0]["epochs"] - 1)       # an older checkpoint's evaluation
    (one / "stale.json").write_text(json.dumps(stale))
    with pytest.raises(InputError, match="evaluates another checkpoint"):
        figures.read_run(one, "stale.json")
    old_format = {k: v for k, v in results[0].items() if k != "epochs"}   # no epochs: matched by -ELBO
    (one / "old.json").write_text(json.dumps(old_format))
    with pytest.raises(InputError, match="evaluates another checkpoint"):
        figures.read_run(one, "old.json")                  # 20 images' -ELBO is not the test set's
    with pytest.raises(InputError, match="one-layer VAE, then a HierarchicalVAE"):
        figures.draw(figures.read_run(two), figures.read_run(one), np.random.default_rng(0))
    out = tmp_path / "figures"
    out.mkdir()
    figures.main([str(one), str(two), "--out", str(out)])
    assert sorted(p.name for p in out.iterdir()) == sorted(figures.NAMES)
    assert all((out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for name in figures.NAMES)
