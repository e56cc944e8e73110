"""Tests for minivae.app.figures: the figures of a training run and of `python -m minivae figures`."""
import re

import numpy as np
import pytest

from minivae import HierarchicalVAE, plots

from minivae.app import figures
from minivae.app.cli import main
from minivae.datasets import load_dataset

HVAE = ["--model", "hvae", "--epochs", "1", "--batch-size", "500", "--quiet"]


def test_a_hierarchical_vae_run_draws_samples_and_levels_and_overwrite_removes_them(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--latent-dims", "3", "2", "--hidden", "16", "8", *HVAE]) == 0
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["levels.png", "loss_curves.png", "reconstructions.png", "samples.png"]
    assert set(pngs) <= set(figures.RUN_FIGURES)          # so an overwritten run's are removed
    assert all((out / name).read_bytes().startswith(b"\x89PNG") for name in pngs)
    # one level: nothing to fix above another, so no levels figure; the old one must go
    assert main(["train", "--out", str(out), "--latent-dims", "3", "--hidden", "16", *HVAE, "--overwrite"]) == 0
    assert sorted(p.name for p in out.glob("*.png")) == ["loss_curves.png", "reconstructions.png", "samples.png"]


def _small(name, data_dir=None):
    """The real dataset cut down so make_all_figures trains in seconds."""
    data = load_dataset(name, data_dir)
    return data._replace(x_train=data.x_train[:100], x_test=data.x_test[:20],
                         y_train=None if data.y_train is None else data.y_train[:100],
                         y_test=None if data.y_test is None else data.y_test[:20])


def test_make_all_figures_writes_every_figure_and_titles_the_hvae_pair_with_log_px(tmp_path, monkeypatch):
    drawn = {}
    monkeypatch.setattr(figures, "load_dataset", _small)
    monkeypatch.setattr(figures, "_save", lambda fig, path: drawn.setdefault(path.name, fig) and plots.save(fig, path))
    reports = []
    written = figures.make_all_figures(tmp_path, epochs=1, progress=lambda *r: reports.append(r))
    names = ["loss_curves.png", "reconstructions.png", "samples.png", "latent_traversals.png",
             "ae_vs_vae_samples.png", "conv_vs_mlp_samples.png", "latent_scatter.png", "manifold_mnist.png",
             "manifold_frey.png", "vae_vs_hvae_samples.png", "hvae_levels.png"]
    assert [p.name for p in written] == names == list(figures.ALL_FIGURES)
    # progress: one report before the work and one after each step, the share done rising to all of it
    done = [d for d, _, _ in reports]
    assert len(reports) == len(figures.FIGURE_STEPS) + 1 and done == sorted(done) and done[0] == 0
    assert done[-1] == pytest.approx(reports[-1][1]) and reports[-1][2] == "done"
    assert [note for _, _, note in reports[:-1]] == [step for step, _ in figures.FIGURE_STEPS]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)
    pair = drawn["vae_vs_hvae_samples.png"]
    assert "after 1 epochs each" in pair._suptitle.get_text()
    assert "k = 200, mean over the first 20 test images" in pair._suptitle.get_text()
    values = [re.search(r"log p\(x\) = (-?\d+\.\d\d) nats, ([\d,]+) parameters", ax.get_title())
              for ax in pair.axes]
    assert all(values)
    hvae_params = HierarchicalVAE.parameter_count({"d_in": 784, "latent_dims": [32, 16], "hidden": [400, 100]})
    assert [v.group(2) for v in values] == ["883,828", f"{hvae_params:,}"]     # compare_hvae's sizes
    assert all(-784 * np.log(2) - 1000 < float(v.group(1)) < 0 for v in values)
    levels = drawn["hvae_levels.png"].axes[0].get_title()
    assert "$z_{2}$ fixed along each row" in levels
    assert re.search(r"KL per level on those 20 test images: \$z_1\$ \d+\.\d\d, \$z_2\$ \d+\.\d\d nats", levels)
