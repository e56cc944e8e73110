import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from minivae import VAE

from minivae.app import checkpoint
from minivae.errors import InputError
from minivae.gaussian_head import GaussianHead
from minivae.gradcheck import assert_model_gradients_match, numerical_gradient
from minivae.iwae import ImportanceWeighted

seeds = st.integers(0, 2**32 - 1)
HEADS = [("sigmoid", None, True), ("sigmoid", None, False), ("linear", (0.05, None), True),
         ("sigmoid", (0.05, None), True), ("sigmoid", (0.05, 0.8), True), ("linear", (0.1, 2.0), True)]


@pytest.mark.parametrize("mean, sigma_range, learned", HEADS)
@given(seed=seeds, n=st.integers(1, 4), d=st.integers(1, 5))
def test_head_backward_matches_finite_differences(mean, sigma_range, learned, seed, n, d):
    rng = np.random.default_rng(seed)
    head = GaussianHead(d, learned, mean, sigma_range)
    x = 3 * rng.standard_normal((n, 2 * d if learned else d))
    dy = rng.standard_normal(x.shape)
    head.forward(x)
    dx = head.backward(dy)
    assert_allclose(dx, numerical_gradient(lambda: np.sum(head.forward(x) * dy), x),
                    rtol=1e-6, atol=1e-9)


@given(b=st.floats(-1e4, 1e4), a=st.floats(-1e3, 1e3))
def test_means_stay_in_unit_interval_and_sigma_in_its_range_for_any_raw_output(a, b):
    x = np.array([[a, b]])
    mean, log_var = GaussianHead(1, True, "sigmoid", (0.05, 0.8)).forward(x)[0]
    sigma = np.exp(0.5 * log_var)
    assert 0 <= mean <= 1
    assert 0.05 * (1 - 1e-12) <= sigma <= 0.8 * (1 + 1e-12)
    floored = GaussianHead(1, True, "linear", (0.05, None)).forward(x)[0, 1]   # a log-variance
    assert floored >= max(b, 2 * np.log(0.05)) - 1e-12


def test_floor_is_smooth_and_leaves_large_variances_unchanged():
    head = GaussianHead(1, True, "linear", (0.01, None))
    log_var = head.forward(np.array([[0.0, 4.0], [0.0, -50.0]]))[:, 1]
    assert_allclose(log_var, [4.0 + np.log1p(1e-4 * np.exp(-4.0)), 2 * np.log(0.01)], rtol=1e-9)


@pytest.mark.parametrize("likelihood, sigma_range", [("gaussian-learned", (0.05, 0.8)),
                                                     ("gaussian-learned", (0.05, None)),
                                                     ("gaussian", None)])
@given(seed=seeds, n=st.integers(1, 3))
def test_vae_and_iwae_gradients_with_a_sigmoid_mean_head_match_finite_differences(likelihood, sigma_range,
                                                                                 seed, n):
    rng = np.random.default_rng(seed)
    vae = VAE(5, hidden=[4], latent_dim=2, likelihood=likelihood, sigma=0.3, activation="tanh",
              rng=rng, dtype=np.float64, decoder_mean="sigmoid", sigma_range=sigma_range)
    for p in vae.params.values():
        p += 0.1 * rng.standard_normal(p.shape)
    x = rng.random((n, 5))
    eps = rng.standard_normal((n, 2))
    assert_model_gradients_match(vae, x, lambda: vae.loss(x, eps=eps).loss)
    iwae, eps3 = ImportanceWeighted(vae, 3), rng.standard_normal((3, n, 2))
    assert_model_gradients_match(iwae, x, lambda: iwae.loss(x, eps=eps3).loss)


def test_pictures_are_means_in_unit_interval_and_the_head_survives_a_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    vae = VAE(6, hidden=[5], latent_dim=2, likelihood="gaussian-learned", rng=rng,
              decoder_mean="sigmoid", sigma_range=(0.02, 1.0))
    vae.params["decoder.2.b"][...] = 50.0 * rng.standard_normal(12).astype(np.float32)
    images = vae.sample(7, rng)
    assert images.shape == (7, 6) and images.min() >= 0 and images.max() <= 1
    checkpoint.save(tmp_path / "c.npz", vae)
    again, _ = checkpoint.load(tmp_path / "c.npz")
    assert again.config["decoder_mean"] == "sigmoid" and again.config["sigma_range"] == [0.02, 1.0]
    z = rng.standard_normal((4, 2)).astype(np.float32)
    assert_allclose(again.decode(z), vae.decode(z), rtol=0, atol=0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(likelihood="bernoulli", decoder_mean="sigmoid"), "Bernoulli decoder outputs logits"),
    (dict(likelihood="gaussian", sigma_range=(0.1, None)), "learned variance"),
    (dict(likelihood="gaussian-learned", sigma_range=(0.5, 0.1)), "sigma_min < sigma_max"),
    (dict(likelihood="gaussian-learned", sigma_range=(0.0, None)), "1e-06 <= sigma_min"),
    (dict(likelihood="gaussian-learned", sigma_range=(1e-300, 1e-299)), "1e-06 <= sigma_min"),
    (dict(likelihood="gaussian-learned", sigma_range=(0.1, 1e7)), "sigma_max <= 1e"),
    (dict(likelihood="gaussian-learned", sigma_range=("a", None)), "sigma_range must be"),
    (dict(likelihood="gaussian-learned", sigma_range=0.1), "sigma_range must be"),
    (dict(likelihood="gaussian", decoder_mean="tanh"), "decoder mean must be one of"),
])
def test_bad_head_settings_are_input_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        VAE(6, hidden=[5], latent_dim=2, **kwargs)


def test_command_line_gives_frey_sigmoid_means_and_a_bounded_sigma_by_default_and_sigma_min_0_unbounds_it(tmp_path, capsys):
    from minivae.app.cli import main

    out = tmp_path / "frey"
    assert main(["train", "--dataset", "frey", "--hidden", "8", "--latent-dim", "2", "--epochs", "1",
                 "--quiet", "--no-figures", "--out", str(out)]) == 0
    model, _ = checkpoint.load(out / "checkpoint.npz")
    assert model.config["decoder_mean"] == "sigmoid" and model.config["sigma_range"] == [0.01, 1.0]
    assert main(["train", "--dataset", "frey", "--hidden", "8", "--latent-dim", "2", "--epochs", "1",
                 "--quiet", "--no-figures", "--sigma-min", "0", "--overwrite", "--out", str(out)]) == 0
    assert checkpoint.load(out / "checkpoint.npz")[0].config["sigma_range"] is None     # 0: no bound
    assert main(["train", "--dataset", "frey", "--sigma-max", "2", "--epochs", "1", "--out", str(out)]) == 2
    assert "--sigma-max needs --sigma-min" in capsys.readouterr().err
