"""Issue 13's cases for training, checkpoints and the command line, as tests: crafted
checkpoints built here, the command line run in-process or as a subprocess, kills by signal."""
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from minivae import models
from minivae import VAE, Autoencoder, Adam
from minivae.app import checkpoint
from minivae.app.cli import main
from minivae.errors import CheckpointError, InputError
from minivae.evaluate import negative_elbo

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--hidden", "16", "--latent-dim", "2", "--batch-size", "500", "--quiet"]


def _run(*args, cwd=None, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "minivae", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, **kw)


# -------------------------------------------------------------------- crafted checkpoints

@pytest.fixture
def good(tmp_path):
    """A resumable checkpoint of a tiny VAE, and its arrays as a dict to tamper with."""
    model = VAE(12, [5], 2, rng=np.random.default_rng(0))
    path = tmp_path / "good.npz"
    checkpoint.save(path, model, {"run": {"dataset": "mnist-subset", "binarize": True}, "train_loss": [1.0]},
                    optimizer=Adam(model.params), rng=np.random.default_rng(1))
    with np.load(path, allow_pickle=False) as f:
        return path, {k: f[k] for k in f.files}


def _with(tmp_path, arrays, **changes):
    arrays = dict(arrays)
    for k, v in changes.items():
        k = k.replace("__", "/")
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    path = tmp_path / "crafted.npz"
    np.savez(path, **arrays)
    return path


def _config(arrays, **fields):
    config = json.loads(str(arrays["config"]))
    config.update(fields)
    return np.array(json.dumps(config))


@pytest.mark.parametrize("fields, message", [
    (dict(dtype="float16"), "'dtype' must be one of"),
    (dict(dtype="int32"), "'dtype' must be one of"),
    (dict(dtype="object"), "'dtype' must be one of"),
    (dict(sigma="0.1"), "'sigma' must be a number"),
    (dict(sigma=1e308), "'sigma' must be a number"),
    (dict(d_in=-12), "'d_in' must be an integer"),
    (dict(d_in=12.0), "'d_in' must be an integer"),
    (dict(latent_dim=True), "'latent_dim' must be an integer"),
    (dict(hidden=[5, -1]), "'hidden' must be a list"),
    (dict(hidden=5), "'hidden' must be a list"),
    (dict(kind="gan"), "unknown model kind"),
    (dict(likelihood="poisson"), "'likelihood' must be one of"),
    (dict(activation="gelu"), "'activation' must be one of"),
    (dict(image_shape=[1, 3, 5]), "'image_shape' must be"),
    (dict(hidden=[2**40]), "integer in|'hidden' must be"),
    (dict(hidden=[100_000, 100_000]), "the file does not match|memory"),
    (dict(likelihood="gaussian-learned", sigma_range=[1e-300, 1e-299]), "config field 'sigma_range'"),
    (dict(likelihood="gaussian-learned", sigma_range=[0.1, "1"]), "config field 'sigma_range'"),
    (dict(likelihood="gaussian", decoder_mean="tanh"), "'decoder_mean' must be"),
])
def test_a_tampered_configuration_is_one_checkpoint_error(tmp_path, good, fields, message):
    path = _with(tmp_path, good[1], config=_config(good[1], **fields))
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load(path)


@pytest.mark.parametrize("history, message", [
    ([1, 2], "history must be a JSON object"),
    ({"run": "mnist"}, "'run' must be a JSON object"),
    ({"train_loss": ["a"]}, "list of numbers"),
])
def test_a_tampered_history_is_one_checkpoint_error(tmp_path, good, history, message):
    path = _with(tmp_path, good[1], history=np.array(json.dumps(history)), state=None,
                 **{f"optim__{s}__{k}": None for s in ("m", "v") for k in VAE(12, [5], 2).params})
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load(path)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_parameters_with_nan_or_inf_are_refused(tmp_path, good, value):
    w = good[1]["param/encoder.0.W"].copy()
    w[0, 0] = value
    with pytest.raises(CheckpointError, match="NaN or Inf"):
        checkpoint.load(_with(tmp_path, good[1], **{"param/encoder.0.W": w}))


def test_complex_wrong_dtype_and_wrong_shape_parameters_are_refused(tmp_path, good):
    w = good[1]["param/encoder.0.W"]
    for bad, message in ((w.astype(np.complex64), "dtype complex64"), (w.astype(np.float64), "float64"),
                         (w.T.copy(), "shape")):
        arrays = dict(good[1])
        arrays["param/encoder.0.W"] = bad
        with pytest.raises(CheckpointError, match=message):
            checkpoint.load(_with(tmp_path, arrays))


def test_a_header_declaring_a_huge_array_is_refused_before_anything_is_allocated(tmp_path, good):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False,
                                               "shape": (2**20, 100_000)})          # 373 GiB
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for k, v in good[1].items():
            if k != "param/encoder.0.W":
                with zf.open(k + ".npy", "w") as f:
                    np.lib.format.write_array(f, v, allow_pickle=False)
        zf.writestr("param/encoder.0.W.npy", buf.getvalue())
    assert path.stat().st_size < 20_000
    with pytest.raises(CheckpointError, match="declares shape"):
        checkpoint.load(path)


def test_an_unexpected_array_is_refused_before_it_is_read(tmp_path, good):
    path = _with(tmp_path, good[1], **{"param/extra": np.zeros(10, np.float32)})
    with pytest.raises(CheckpointError, match="unexpected"):
        checkpoint.load(path)


def test_object_arrays_are_refused_without_pickle_advice(tmp_path, good):
    arrays = dict(good[1])
    arrays["history"] = np.array([{"a": 1}], dtype=object)
    path = tmp_path / "objects.npz"
    np.savez(path, **arrays)
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(path)
    assert "pickle" not in str(info.value) and "dtype object" in str(info.value)


def test_a_missing_history_is_reported_as_missing(tmp_path, good):
    with pytest.raises(CheckpointError, match="'history' entry is missing"):
        checkpoint.load(_with(tmp_path, good[1], history=None))


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + bytes(200), os.urandom(300), b""])
def test_a_png_or_random_file_as_checkpoint_is_one_line_without_pickle_advice(tmp_path, capsys, content):
    path = tmp_path / "x.png"
    path.write_bytes(content)
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a readable minivae checkpoint" in err and "pickle" not in err


def test_tampered_optimizer_and_random_state_cannot_be_resumed(tmp_path, good):
    state = json.loads(str(good[1]["state"]))
    for change in ({"epoch": 5}, {"optimizer": {**state["optimizer"], "beta1": 1.0}},
                   {"rng": {"bit_generator": "MT19937"}}, {"rng": {**state["rng"], "state": "x"}}):
        path = _with(tmp_path, good[1], state=np.array(json.dumps({**state, **change})))
        with pytest.raises(CheckpointError):
            checkpoint.load_for_resume(path)
    v = good[1]["optim/v/encoder.0.W"].copy()
    v[0, 0] = -1
    with pytest.raises(CheckpointError, match="negative"):
        checkpoint.load_for_resume(_with(tmp_path, good[1], **{"optim/v/encoder.0.W": v}))


def test_json_with_nan_is_never_written_or_read(tmp_path, good):
    model = VAE(12, [5], 2)
    with pytest.raises(InputError, match="NaN or Infinity"):
        checkpoint.save(tmp_path / "nan.npz", model, {"train_loss": [float("nan")]})
    assert not (tmp_path / "nan.npz").exists()
    text = str(good[1]["history"]).replace("1.0", "NaN")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        checkpoint.load(_with(tmp_path, good[1], history=np.array(text)))


def test_a_failed_write_names_the_file(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(OSError, match="while writing .*m.npz"):
        checkpoint.save(tmp_path / "m.npz", VAE(12, [5], 2))
    assert list(tmp_path.iterdir()) == []


def test_negative_elbo_with_batch_size_zero_is_an_input_error():
    with pytest.raises(InputError, match="batch_size"):
        negative_elbo(VAE(12, [5], 2), np.zeros((3, 12)), batch_size=0)


# -------------------------------------------------------------------- the command line

@pytest.mark.parametrize("argv, message", [
    (["train", "--warmup-epochs", "inf"], "--warmup-epochs must be a finite number"),
    (["train", "--likelihood", "gaussian", "--sigma", "1e308"], "--sigma must be"),
    (["train", "--likelihood", "gaussian", "--sigma", "1e-30"], "--sigma must be"),
    (["train", "--adam-eps", "0"], "--adam-eps"),
    (["train", "--lr", "1e300"], "--lr must be"),
    (["train", "--hidden", "100000000"], "GiB of memory"),
    (["train", "--latent-dim", "100000000"], "GiB of memory"),
    (["train", "--objective", "iwae", "--k", "100000000"], "with k = 100000000 samples per example"),
    (["train", "--sigma", "0.5"], "--sigma is the fixed std of a VAE's --likelihood gaussian decoder"),
    (["train", "--k", "3"], "--k is the number of samples of --objective iwae"),
    (["train", "--model", "ae", "--beta", "2"], "--beta weighs a VAE's KL term"),
    (["train", "--model", "ae", "--warmup-epochs", "2"], "--warmup-epochs warms up"),
    (["train", "--channels", "3", "4"], "--channels sizes the --arch conv"),
    (["train", "--arch", "conv", "--hidden", "30"], "--hidden sizes the --arch mlp"),
    (["train", "--dataset", "frey", "--sigma-min", "0", "--sigma-max", "1"], "--sigma-min 0 means no bound"),
    (["train", "--dataset", "frey", "--sigma-min", "1e-300", "--sigma-max", "1e-299"], "--sigma-min must be"),
    (["train", "--seed", "-1"], "--seed must be at least 0"),
    (["train", "--schedule-stages", "3"], "needs --recipe"),
    (["train", "--recipe", "burda2016", "--lr", "0.1"], "cannot be combined"),
    (["train", "--recipe", "burda2016", "--schedule-stages", "0"], "--schedule-stages must be"),
    (["figures", "--epochs", "0"], "--epochs must be at least 1"),
    (["figures", "--epochs", "-1"], "--epochs must be at least 1"),
    (["sample", "x.npz", "--n", "2000000"], "--n must be"),
    (["sample", "x.npz", "--n", "5000"], "--n must be"),
    (["sample", "x.npz", "--out", "s.jpg"], ".png"),
    (["evaluate", "x.npz", "--iw-samples", "-1"], "--iw-samples must be"),
    (["evaluate", "x.npz", "--n-examples", "0"], "--n-examples must be"),
])
def test_bad_options_are_one_line_and_exit_2(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"minivae {argv[0]}: error:") and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []                # nothing created


def test_a_diverged_run_exits_2_names_no_checkpoint_and_draws_no_figures(tmp_path):
    out = tmp_path / "diverged"
    r = _run("train", "--beta", "1e308", "--epochs", "1", "--batch-size", "10000", "--hidden", "16",
             "--latent-dim", "2", "--quiet", "--out", str(out))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "RuntimeWarning" not in r.stderr
    assert "no epoch finished, so this run wrote no checkpoint" in r.stderr and "wrote" not in r.stdout
    assert sorted(p.name for p in out.iterdir()) == []


def test_a_huge_learning_rate_gives_one_error_line_and_no_warnings(tmp_path):
    r = _run("train", "--lr", "1e6", "--epochs", "3", *TINY, "--no-figures", "--out", str(tmp_path / "r"))
    assert r.returncode == 2, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert "RuntimeWarning" not in r.stderr and lines[-1].startswith("minivae train: error:")
    assert len(lines) == 2                               # the "training a VAE ..." line and the error


def test_an_existing_run_is_kept_unless_overwrite_and_then_its_figures_go_too(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--epochs", "1", *TINY]) == 0
    assert (out / "manifold.png").exists()
    before = (out / "checkpoint.npz").read_bytes()
    (out / "notes.txt").write_text("mine")
    assert main(["train", "--out", str(out), "--epochs", "1", *TINY]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (out / "checkpoint.npz").read_bytes() == before
    assert main(["train", "--out", str(out), "--epochs", "1", "--overwrite", *TINY[:3], "3", *TINY[4:]]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert "manifold.png" not in names and "latent_scatter.png" not in names   # latent 3: none drawn
    assert "notes.txt" in names and checkpoint.load(out / "checkpoint.npz")[0].latent_dim == 3


def test_a_locked_run_folder_refuses_a_second_training_and_a_stale_lock_is_taken_over(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / ".minivae.lock").write_text(str(os.getpid()))          # a live process holds it
    assert main(["train", "--out", str(out), "--epochs", "1", *TINY, "--no-figures"]) == 2
    assert "is writing into" in capsys.readouterr().err
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / ".minivae.lock").write_text(str(dead.pid))               # its process is gone
    (out / ".checkpoint.npz.abc123.tmp").write_bytes(b"half")       # a killed run's temporary
    assert main(["train", "--out", str(out), "--epochs", "1", *TINY, "--no-figures"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz", "history.json"]


def test_two_concurrent_trainings_into_one_folder_cannot_interleave(tmp_path):
    out = tmp_path / "run"
    args = ("train", "--out", str(out), "--epochs", "4", *TINY, "--no-figures")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-m", "minivae", *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "is writing into" in loser or "already holds a run" in loser
    assert len(checkpoint.load(out / "checkpoint.npz")[1]["train_loss"]) == 4
    assert not (out / ".minivae.lock").exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_during_training_leaves_a_resumable_run_and_no_leftovers(tmp_path, signum):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    p = subprocess.Popen([sys.executable, "-m", "minivae", "train", "--out", str(out), "--epochs", "1000",
                          *TINY, "--no-figures"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env)
    deadline = time.time() + 120
    while not (out / "history.json").exists() and time.time() < deadline:
        time.sleep(0.05)
    p.send_signal(signum)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and f"--resume {out}" in err and "Traceback" not in err
    assert err.count("minivae train: interrupted") == 1, err          # one line, not two
    assert sorted(x.name for x in out.iterdir()) == ["checkpoint.npz", "history.json"]
    done = len(checkpoint.load(out / "checkpoint.npz")[1]["train_loss"])
    r = _run("train", "--resume", str(out), "--epochs", str(done + 1), "--quiet", "--no-figures")
    assert r.returncode == 0, r.stderr
    assert len(json.loads((out / "history.json").read_text())["train_loss"]) == done + 1
    whole = tmp_path / "whole"                                      # never interrupted
    r = _run("train", "--out", str(whole), "--epochs", str(done + 1), *TINY, "--no-figures")
    assert r.returncode == 0, r.stderr
    (a, ha), (b, hb) = checkpoint.load(out / "checkpoint.npz"), checkpoint.load(whole / "checkpoint.npz")
    assert ha["test_loss"] == hb["test_loss"] and ha["train_loss"] == hb["train_loss"]
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


def test_sigkill_leaves_the_last_checkpoint_and_the_next_start_cleans_up(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    p = subprocess.Popen([sys.executable, "-m", "minivae", "train", "--out", str(out), "--epochs", "1000",
                          *TINY, "--no-figures"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 120
    while not (out / "history.json").exists() and time.time() < deadline:
        time.sleep(0.05)
    p.kill()
    p.wait()
    (out / ".history.json.zzz.tmp").write_text("{")                 # as if killed mid-write
    assert (out / ".minivae.lock").exists()                         # SIGKILL leaves the lock...
    done = len(checkpoint.load(out / "checkpoint.npz")[1]["train_loss"])
    r = _run("train", "--resume", str(out), "--epochs", str(done + 1), "--quiet", "--no-figures")
    assert r.returncode == 0, r.stderr                              # ...which the next start takes over
    assert sorted(x.name for x in out.iterdir()) == ["checkpoint.npz", "history.json"]


def test_an_autoencoders_evaluation_is_not_labelled_elbo(tmp_path, capsys):
    out = tmp_path / "ae"
    assert main(["train", "--model", "ae", "--out", str(out), "--epochs", "1", *TINY, "--no-figures"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out), "--n-examples", "30"]) == 0
    text = capsys.readouterr().out
    assert "ELBO" not in text and "squared error" in text
    assert main(["evaluate", str(out), "--n-examples", "30", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "ae" and "negative_elbo" not in result


def test_evaluate_refuses_a_tampered_binarize_flag(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--epochs", "1", *TINY, "--no-figures"]) == 0
    with np.load(out / "checkpoint.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["history"] = np.array(str(arrays["history"]).replace('"binarize": true', '"binarize": "no"'))
    np.savez(out / "checkpoint.npz", **arrays)
    assert main(["evaluate", str(out)]) == 2
    assert "'binarize' is invalid" in capsys.readouterr().err


def test_a_bug_keeps_its_traceback(monkeypatch):
    import minivae.app.cli

    def broken(a):
        raise ValueError("operands could not be broadcast")

    monkeypatch.setitem(minivae.app.cli.COMMANDS, "sample", broken)
    with pytest.raises(ValueError, match="broadcast"):
        main(["sample", "x.npz"])


def test_a_configuration_field_the_model_does_not_take_is_refused(tmp_path, good):
    for field in ({"foo": 1}, {"rng": 3}, {"foo": {"a": 1}}):
        with pytest.raises(CheckpointError, match="is not a setting of VAE"):
            checkpoint.load(_with(tmp_path, good[1], config=_config(good[1], **field)))


def test_resume_cannot_go_back_before_the_epoch_reached(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--epochs", "2", *TINY, "--no-figures"]) == 0
    before = (out / "checkpoint.npz").read_bytes()
    assert main(["train", "--resume", str(out), "--epochs", "1"]) == 2
    assert "is before epoch 2" in capsys.readouterr().err
    assert (out / "checkpoint.npz").read_bytes() == before


def test_a_batch_larger_than_the_data_is_refused_for_that_reason_not_as_too_big(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "r"), "--epochs", "1", "--hidden", "8", "--latent-dim", "2",
                 "--batch-size", "100000000", "--quiet", "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert "larger than the 10,000 training images" in err and "memory" not in err
    assert main(["train", "--out", str(tmp_path / "r"), "--epochs", "1", "--hidden", "8", "--latent-dim", "2",
                 "--batch-size", "10000", "--quiet", "--no-figures"]) == 0      # the whole set: one step


def test_an_unwritable_sample_path_is_one_line_naming_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--epochs", "1", *TINY, "--no-figures"]) == 0
    capsys.readouterr()
    target = tmp_path / "file" / "s.png"
    (tmp_path / "file").write_text("not a folder")
    assert main(["sample", str(out), "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "file" in err


def test_a_model_with_nan_parameters_is_never_saved_over_a_good_checkpoint(tmp_path):
    model = VAE(12, [5], 2)
    path = tmp_path / "m.npz"
    checkpoint.save(path, model)
    before = path.read_bytes()
    model.params["decoder.0.b"][0] = np.nan
    with pytest.raises(InputError, match="NaN or Inf"):
        checkpoint.save(path, model)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_a_model_kind_without_a_size_formula_is_refused_before_it_is_built(tmp_path, good, monkeypatch):
    built = []

    class Other(VAE):
        kind = "other"

        def __init__(self, **kw):
            built.append(kw)
            super().__init__(**kw)

    monkeypatch.setitem(models.MODELS, "other", Other)
    with pytest.raises(CheckpointError, match="cannot check the size of a 'other' model"):
        checkpoint.load(_with(tmp_path, good[1], config=_config(good[1], kind="other")))
    assert built == []
