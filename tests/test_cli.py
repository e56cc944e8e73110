import json
import subprocess
import sys

import numpy as np
import pytest

from minivae import models
from minivae.app import checkpoint
from minivae.app.cli import main
from minivae.datasets import load_dataset
from minivae.errors import InputError
from numpy.testing import assert_allclose

SMALL = ["--hidden", "32", "--latent-dim", "2", "--epochs", "1", "--batch-size", "200", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--out", str(out), *SMALL]) == 0
    return out


def test_train_writes_checkpoint_history_and_figures(trained, capsys):
    for name in ("checkpoint.npz", "history.json", "loss_curves.png", "reconstructions.png",
                 "samples.png", "manifold.png", "latent_scatter.png"):
        assert (trained / name).stat().st_size > 0, name
    history = json.loads((trained / "history.json").read_text())
    assert history["run"]["dataset"] == "mnist-subset" and len(history["test_loss"]) == 1
    model, saved = checkpoint.load(trained / "checkpoint.npz")
    assert model.config["latent_dim"] == 2 and saved["test_loss"] == history["test_loss"]


def test_evaluate_json_has_the_documented_keys(trained, capsys):
    assert main(["evaluate", str(trained / "checkpoint.npz"), "--iw-samples", "20",
                 "--n-examples", "50", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("negative_elbo", "reconstruction", "kl", "log_likelihood", "n_examples"):
        assert key in result
    assert result["n_examples"] == 50
    assert result["epochs"] == len(json.loads((trained / "history.json").read_text())["train_loss"])
    assert result["negative_elbo"] == pytest.approx(result["reconstruction"] + result["kl"])
    assert result["log_likelihood"] > -result["negative_elbo"] - 1.0   # IW is the tighter bound


def test_evaluate_prints_a_readable_table(trained, capsys):
    assert main(["evaluate", str(trained / "checkpoint.npz"), "--n-examples", "30"]) == 0
    out = capsys.readouterr().out
    assert "-ELBO" in out and "reconstruction" in out and "KL" in out
    assert "active units" in out and "of 2" in out


def test_evaluate_counts_the_active_units_of_the_test_images(trained, capsys):
    from minivae.datasets import TEST_BINARIZATION_SEED, fixed_binarization, load_dataset
    from minivae.evaluate import latent_diagnostics

    assert main(["evaluate", str(trained / "checkpoint.npz"), "--n-examples", "300", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    model, _ = checkpoint.load(trained / "checkpoint.npz")
    x = fixed_binarization(load_dataset("mnist-subset").x_test, TEST_BINARIZATION_SEED)[:300]
    diagnostics = latent_diagnostics(model, x)
    assert result["active_units"] == diagnostics["active_units"]
    assert result["active_units"] == int(np.sum(np.var(model.encode(x)[0].astype(np.float64), axis=0) > 0.01))


def test_evaluate_does_not_count_a_collapsed_latent_dimension(trained, tmp_path, capsys):
    # With two latent dimensions both are active after training, so the test above cannot tell
    # "counts the active ones" from "counts all". Here z_1 is collapsed onto the prior by hand
    # (mu_1 = 0 and log_var_1 = 0 for every x): evaluate must count 1 of 2.
    model, saved = checkpoint.load(trained / "checkpoint.npz")
    head = model.encoder.layers[-1].params           # columns: mu_0, mu_1, log_var_0, log_var_1
    for j in (1, 3):
        head["W"][:, j] = 0.0
        head["b"][j] = 0.0
    collapsed = tmp_path / "collapsed.npz"
    checkpoint.save(collapsed, model, history=saved)
    assert main(["evaluate", str(collapsed), "--n-examples", "300", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["active_units"] == 1
    assert main(["evaluate", str(collapsed), "--n-examples", "30"]) == 0
    assert "active units   1 of 2" in capsys.readouterr().out


def test_sample_writes_a_png(trained, tmp_path):
    png = tmp_path / "s.png"
    assert main(["sample", str(trained / "checkpoint.npz"), "--n", "12", "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "no/such/file.npz"], "no checkpoint"),
    (["train", "--epochs", "0", "--no-figures"], "--epochs must be at least 1"),
    (["train", "--lr", "-1", "--no-figures"], "--lr must be a finite number > 0"),
    (["train", "--lr", "nan", "--no-figures"], "--lr must be a finite number"),
    (["train", "--beta", "inf", "--no-figures"], "--beta must be a finite number >= 0"),
    (["train", "--hidden", "0", "--no-figures"], "at least 1"),
    (["train", "--arch", "conv", "--channels", "0", "4", "--no-figures"], "at least 1"),
    (["train", "--dataset", "mnist", "--data-dir", "{tmp}", "--no-figures", "--quiet"], "MNIST"),
])
def test_bad_arguments_give_one_clear_line(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MINIVAE_MIRROR", "http://127.0.0.1:9/")     # nothing listens on port 9
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    error = err[err.index("minivae " + argv[0] + ": error:"):]     # one message, no traceback
    assert message in error and "Traceback" not in err


def test_corrupt_checkpoint_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert main(["evaluate", str(bad)]) == 2
    assert "truncated or corrupt" in capsys.readouterr().err


def test_module_entry_point_runs(tmp_path):
    result = subprocess.run([sys.executable, "-m", "minivae", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "train" in result.stdout and "evaluate" in result.stdout
    result = subprocess.run([sys.executable, "-m", "minivae", "train", "--model", "gan"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_divergence_keeps_and_names_this_runs_last_good_checkpoint(tmp_path, capsys, monkeypatch):
    import minivae.fast.optim

    class PoisonAt(minivae.fast.optim.FastAdam):
        """The training Adam, writing NaN into the parameters on its 60th step (epoch 2 of 50-step epochs)."""
        def step(self, grads):
            super().step(grads)
            if self.t == 60:
                next(iter(self.params.values()))[...] = np.nan

    monkeypatch.setattr("minivae.fast.optim.FastAdam", PoisonAt)
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--hidden", "16", "--latent-dim", "2", "--epochs", "3",
                 "--batch-size", "200", "--quiet", "--no-figures"]) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert f"the last good checkpoint of this run is {out / 'checkpoint.npz'} (epoch 1)" in err
    assert "smaller learning rate" in err and "wrote" not in captured.out
    model, history = checkpoint.load(out / "checkpoint.npz")
    assert len(history["train_loss"]) == 1
    assert all(np.isfinite(p).all() for p in model.params.values())


TINY = ["--hidden", "16", "--latent-dim", "3", "--batch-size", "500", "--quiet", "--no-figures"]


def _run_state(folder):
    model, history = checkpoint.load(folder / "checkpoint.npz")
    return model, {k: v for k, v in history.items() if k != "seconds"}


def test_resume_continues_a_run_bit_identically_and_history_json_follows_the_checkpoint(tmp_path, capsys):
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert main(["train", "--out", str(whole), "--epochs", "3", *TINY]) == 0
    assert main(["train", "--out", str(part), "--epochs", "1", *TINY]) == 0
    (part / "history.json").write_text("{}")                      # stale: regenerated from the checkpoint
    assert main(["train", "--resume", str(part), "--epochs", "3", "--quiet", "--no-figures"]) == 0
    (m1, h1), (m2, h2) = _run_state(whole), _run_state(part)
    assert h1 == h2 and len(h1["train_loss"]) == 3
    for k, p in m1.params.items():
        assert np.array_equal(p, m2.params[k]), k
    on_disk = json.loads((part / "history.json").read_text())
    assert on_disk["train_loss"] == h2["train_loss"] and on_disk["run"]["epochs"] == 3
    assert sorted(p.name for p in part.iterdir()) == ["checkpoint.npz", "history.json"]


def test_resume_refuses_other_settings_and_old_checkpoints(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--epochs", "1", *TINY]) == 0
    assert main(["train", "--resume", str(run), "--lr", "0.1"]) == 2
    assert "--lr cannot be given" in capsys.readouterr().err
    old = tmp_path / "old.npz"                                    # format 1: no optimizer or rng state
    model, history = checkpoint.load(run / "checkpoint.npz")
    np.savez(old, format=np.array(checkpoint.FORMAT_1), config=np.array(json.dumps(model.config)),
             history=np.array(json.dumps(history)), **{f"param/{k}": p for k, p in model.params.items()})
    assert main(["evaluate", str(old), "--n-examples", "20"]) == 0          # still evaluates
    assert main(["train", "--resume", str(old)]) == 2
    assert "cannot be resumed" in capsys.readouterr().err


def test_burda_recipe_sets_the_published_setup(monkeypatch):
    from minivae.app.cli import _model_config, _parser, _settings
    s = _settings(_parser().parse_args(["train", "--recipe", "burda2016"]))
    assert (s["hidden"], s["latent_dim"], s["activation"], s["likelihood"], s["binarize"]) == \
        ([200, 200], 50, "tanh", "bernoulli", True)
    assert (s["dataset"], s["batch_size"], s["adam_eps"], s["epochs"]) == ("mnist", 20, 1e-4, 3280)
    assert s["lr_schedule"][0] == (1, 1e-3) and s["lr_schedule"][7][0] == 2187
    short = _settings(_parser().parse_args(["train", "--recipe", "burda2016", "--schedule-stages", "4",
                                            "--batch-size", "100"]))
    assert short["epochs"] == 40 and short["batch_size"] == 100 and len(short["lr_schedule"]) == 4
    assert _model_config(s)["d_in"] == 784


def test_burda_two_layer_recipe_builds_the_papers_model_inferred_bottom_up_or_top_down():
    from minivae.app.cli import _model_config, _parser, _settings
    from minivae.train import burda_schedule
    s = _settings(_parser().parse_args(["train", "--recipe", "burda2016-2layer"]))
    assert (s["model"], s["latent_dims"], s["hidden"], s["decoder_hidden"], s["decoder_reads"]) == \
        ("hvae", [100, 50], [[200, 200], [100, 100]], [200, 200], "z1")
    assert (s["activation"], s["likelihood"], s["binarize"], s["inference"]) == ("tanh", "bernoulli", True, "bottom-up")
    assert (s["dataset"], s["batch_size"], s["adam_eps"], s["epochs"], s["objective"]) == \
        ("mnist", 20, 1e-4, 3280, "elbo")
    assert s["lr_schedule"] == burda_schedule(8)                      # the one-layer recipe's schedule
    assert s["output_bias"] == "data-mean"
    assert _settings(_parser().parse_args(["train", "--recipe", "burda2016"]))["output_bias"] == "zero"
    with pytest.raises(InputError, match="--output-bias data-mean .* needs --likelihood bernoulli"):
        _settings(_parser().parse_args(["train", "--recipe", "burda2016-2layer", "--likelihood", "gaussian"]))
    with pytest.raises(InputError, match="--arch mlp"):
        _settings(_parser().parse_args(["train", "--output-bias", "data-mean", "--arch", "conv"]))
    model = models.build_model(_model_config(s))
    shapes = {key: p.shape for key, p in model.params.items() if key.endswith(".W")}
    assert shapes == {"encoder1.0.W": (784, 200), "encoder1.2.W": (200, 200), "encoder1.4.W": (200, 200),
                      "encoder2.0.W": (100, 100), "encoder2.2.W": (100, 100), "encoder2.4.W": (100, 100),
                      "prior1.0.W": (50, 100), "prior1.2.W": (100, 100), "prior1.4.W": (100, 200),
                      "decoder.0.W": (100, 200), "decoder.2.W": (200, 200), "decoder.4.W": (200, 784)}
    top_down = _settings(_parser().parse_args(["train", "--recipe", "burda2016-2layer", "--inference", "top-down",
                                               "--schedule-stages", "4"]))
    assert top_down["inference"] == "top-down" and top_down["epochs"] == 40 and len(top_down["lr_schedule"]) == 4
    model = models.build_model(_model_config(top_down))
    assert model.inference == "top-down" and model.decoder_reads == "z1"
    assert model.params["up1.2.W"].shape == (200, 200) and model.params["top.4.W"].shape == (100, 100)
    assert model.params["prior1.4.W"].shape == (100, 200) and model.params["decoder.4.W"].shape == (200, 784)


def test_a_tiny_burda_two_layer_run_trains_evaluates_and_refuses_inference_for_a_vae(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--recipe", "burda2016-2layer", "--dataset", "mnist-subset", "--epochs", "1",
                 "--batch-size", "500", "--out", str(out), "--quiet", "--no-figures"]) == 0
    model, history = checkpoint.load(out / "checkpoint.npz")
    assert (model.kind, model.inference, model.hidden, model.latent_dims) == \
        ("hvae", "bottom-up", [[200, 200], [100, 100]], [100, 50])
    run = history["run"]
    assert (run["recipe"], run["batch_size"], run["adam_eps"], len(run["lr_schedule"])) == \
        ("burda2016-2layer", 500, 1e-4, 8)
    assert run["output_bias"] == "data-mean"                       # Burda et al.'s start: logit of the mean pixel
    mean = np.clip(load_dataset("mnist-subset").x_train.mean(axis=0), 1e-3, 1 - 1e-3)
    b = model.params["decoder.4.b"]                                  # 20 Adam steps of lr 1e-3 moved it little
    assert_allclose(b, np.log(mean / (1 - mean)), atol=0.1)
    assert np.abs(np.log(mean / (1 - mean))).max() > 6              # where a zero start would be far off
    capsys.readouterr()
    assert main(["evaluate", str(out), "--n-examples", "20", "--iw-samples", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["kl_per_level"]) == 2 and len(result["active_units_per_level"]) == 2
    assert result["log_likelihood"] < 0
    assert main(["train", "--inference", "bottom-up", "--out", str(tmp_path / "vae"), *TINY]) == 2
    assert "--inference is for --model hvae" in capsys.readouterr().err


@pytest.mark.parametrize("options", [
    ["--recipe", "burda2016-2layer", "--dataset", "mnist-subset", "--batch-size", "500",
     "--quiet", "--no-figures"],                                                  # bottom-up, the lr schedule
    ["--model", "hvae", "--latent-dims", "3", "2", "--hidden", "16", "8", "--inference", "bottom-up",
     "--batch-size", "500", "--quiet", "--no-figures"],                          # --inference
    ["--objective", "iwae", "--k", "2", *TINY],                                   # the IWAE objective
    ["--model", "hvae", "--latent-dims", "3", "2", "--hidden", "16", "8", "--batch-size", "500",
     "--objective", "iwae", "--k", "2", "--quiet", "--no-figures"],               # ... of a hierarchical VAE
    ["--dataset", "frey", "--hidden", "8", "--latent-dim", "2", "--batch-size", "400",
     "--quiet", "--no-figures"],                                                  # sigmoid means, bounded sigma
])
def test_resuming_an_iwae_run_or_a_frey_run_with_the_gaussian_head_is_bit_identical(tmp_path, options):
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert main(["train", "--out", str(whole), "--epochs", "2", *options]) == 0
    assert main(["train", "--out", str(part), "--epochs", "1", *options]) == 0
    assert main(["train", "--resume", str(part), "--epochs", "2", "--quiet", "--no-figures"]) == 0
    (m1, h1), (m2, h2) = _run_state(whole), _run_state(part)
    assert h1 == h2 and len(h1["train_loss"]) == 2
    assert m1.config == m2.config
    for k, p in m1.params.items():
        assert np.array_equal(p, m2.params[k]), k


def test_a_resume_with_nothing_left_to_train_keeps_the_runs_figures(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--epochs", "1", "--dataset", "frey", "--hidden", "8",
                 "--latent-dim", "2", "--quiet"]) == 0
    figures = sorted(p.name for p in run.glob("*.png"))
    assert figures                                                # drawn by the first run
    assert main(["train", "--resume", str(run), "--no-figures", "--quiet"]) == 0
    assert "nothing to write" in capsys.readouterr().out
    assert sorted(p.name for p in run.glob("*.png")) == figures
