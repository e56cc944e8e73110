import zipfile

import numpy as np
import pytest
from numpy.testing import assert_allclose

from minivae import models
from minivae import VAE, Autoencoder
from minivae.app import checkpoint
from minivae.app.checkpoint import CheckpointError


@pytest.mark.parametrize("make", [
    lambda rng: VAE(12, [8, 6], 3, rng=rng),
    lambda rng: VAE(12, [5], 2, likelihood="gaussian-learned", activation="tanh", rng=rng, dtype=np.float64),
    lambda rng: VAE(12, [5], 2, likelihood="gaussian", sigma=0.3, rng=rng),
    lambda rng: Autoencoder(12, [7], 2, likelihood="bernoulli", rng=rng),
])
def test_checkpoint_round_trip_rebuilds_the_same_model(tmp_path, make):
    rng = np.random.default_rng(0)
    model = make(rng)
    x = rng.random((4, 12))
    path = tmp_path / "run" / "model.npz"
    checkpoint.save(path, model, {"train_loss": [1.5, 1.2]})
    loaded, history = checkpoint.load(path)
    assert loaded.config == model.config and history == {"train_loss": [1.5, 1.2]}
    for k, p in model.params.items():
        assert loaded.params[k].dtype == p.dtype
        assert_allclose(loaded.params[k], p, rtol=0, atol=0)
    eps = rng.standard_normal((4, model.latent_dim))
    assert loaded.loss(x, eps=eps) == model.loss(x, eps=eps)
    with np.load(path, allow_pickle=False) as f:              # plain numpy can read it
        assert "config" in f.files and f"param/encoder.0.W" in f.files


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "m.npz"
    checkpoint.save(path, VAE(12, [8], 2))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        checkpoint.load(path)


def test_other_files_and_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        checkpoint.load(tmp_path / "absent.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        checkpoint.load(tmp_path / "text.npz")
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(CheckpointError, match="not a minivae checkpoint"):
        checkpoint.load(tmp_path / "plain.npz")


def test_shapes_that_do_not_match_the_configuration_are_a_clear_error(tmp_path):
    path = tmp_path / "m.npz"
    model = VAE(12, [8], 2)
    checkpoint.save(path, model)
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["config"] = np.array(arrays["config"].item().replace('"latent_dim": 2', '"latent_dim": 3'))
    np.savez(path, **arrays)
    with pytest.raises(CheckpointError, match="does not match its configuration"):
        checkpoint.load(path)


def test_a_failed_save_leaves_the_previous_checkpoint_untouched(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    checkpoint.save(path, VAE(12, [8], 2))
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save(path, VAE(12, [8], 2, rng=np.random.default_rng(5)))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    assert zipfile.is_zipfile(path)


@pytest.mark.parametrize("kind, likelihood, head", [
    ("vae", "bernoulli", {}), ("vae", "gaussian", dict(decoder_mean="sigmoid")),
    ("vae", "gaussian-learned", dict(decoder_mean="sigmoid", sigma_range=(0.01, 1.0))),
    ("ae", "mse", {}), ("ae", "bernoulli", {})])
@pytest.mark.parametrize("arch, sizes", [("mlp", dict(hidden=[7, 5])),
                                         ("conv", dict(image_shape=(2, 8, 12), channels=(3, 4)))])
def test_parameter_count_from_a_config_equals_the_built_models_count(kind, likelihood, head, arch, sizes):
    model_class = VAE if kind == "vae" else Autoencoder
    model = model_class(192, latent_dim=3, likelihood=likelihood, arch=arch, **sizes, **head)
    assert models.parameter_count(model.config) == sum(p.size for p in model.params.values())


@pytest.mark.parametrize("left_out", [("decoder_reads", "decoder_hidden", "inference"),   # the first version
                                      ("inference",)])                                    # before bottom-up
def test_an_older_hierarchical_checkpoint_loads_with_the_decoder_reading_z1_inferred_top_down(tmp_path, left_out):
    import json
    from minivae import HierarchicalVAE
    rng = np.random.default_rng(0)
    old = HierarchicalVAE(12, [3, 2], [7, 5], rng=rng, decoder_reads="z1")
    config = {k: v for k, v in old.config.items() if k not in left_out}
    path = tmp_path / "old.npz"                                  # as the first version wrote it
    np.savez(path, format=np.array(checkpoint.FORMAT_1), config=np.array(json.dumps(config)),
             history=np.array("{}"), **{f"param/{k}": p for k, p in old.params.items()})
    loaded, _ = checkpoint.load(path)
    x = (rng.random((3, 12)) > 0.5).astype(np.float32)
    eps = [rng.standard_normal((3, 3)), rng.standard_normal((3, 2))]
    assert loaded.decoder_reads == "z1" and loaded.loss(x, eps=eps) == old.loss(x, eps=eps)
    assert loaded.inference == "top-down" and loaded.config == old.config


def test_an_older_autoencoder_checkpoint_with_likelihood_gaussian_loads_as_mse(tmp_path):
    import json
    rng = np.random.default_rng(0)
    ae = Autoencoder(12, [7], 2, likelihood="mse", rng=rng)
    path = tmp_path / "old.npz"
    config = {**ae.config, "likelihood": "gaussian"}              # the name before "mse"
    np.savez(path, format=np.array(checkpoint.FORMAT_1), config=np.array(json.dumps(config)),
             history=np.array("{}"), **{f"param/{k}": p for k, p in ae.params.items()})
    loaded, _ = checkpoint.load(path)
    x = rng.random((3, 12))
    assert loaded.likelihood == "mse" and loaded.loss(x) == ae.loss(x)
