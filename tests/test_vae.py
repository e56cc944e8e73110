import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from minivae import VAE, Adam
from kinks import model_kink_margin
from minivae.gradcheck import assert_model_gradients_match
from minivae.datasets import fixed_binarization, load_dataset

seeds = st.integers(0, 2**32 - 1)


def _data(likelihood, rng, n, d):
    if likelihood == "bernoulli":
        return rng.random((n, d))                 # grey values in [0, 1] are valid targets too
    return rng.standard_normal((n, d))


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian", "gaussian-learned"])
@given(seed=seeds, n=st.integers(1, 3), beta=st.floats(0.1, 2.0),
       activation=st.sampled_from(["tanh", "relu"]))
def test_whole_vae_backward_matches_finite_differences(likelihood, seed, n, beta, activation):
    rng = np.random.default_rng(seed)
    d, latent = 5, 2
    vae = VAE(d, hidden=[4, 3], latent_dim=latent, likelihood=likelihood, sigma=0.7,
              activation=activation, rng=rng, dtype=np.float64)
    for p in vae.params.values():               # nonzero biases: every term is exercised
        p += 0.1 * rng.standard_normal(p.shape)
    x, eps = _data(likelihood, rng, n, d), rng.standard_normal((n, latent))
    assume(model_kink_margin(vae, x, eps) > 1e-3)     # no ReLU input within a step of its kink
    assert_model_gradients_match(vae, x, lambda: vae.loss(x, eps=eps, beta=beta).loss)


def test_loss_is_reconstruction_plus_beta_times_kl():
    rng = np.random.default_rng(0)
    vae = VAE(6, hidden=[5], latent_dim=3, rng=rng, dtype=np.float64)
    x, eps = rng.random((4, 6)), rng.standard_normal((4, 3))
    parts = vae.loss(x, eps=eps, beta=0.3)
    assert_allclose(parts.loss, parts.reconstruction + 0.3 * parts.kl, rtol=1e-12)
    assert parts.kl > 0 and parts.reconstruction > 0
    assert vae.loss(x, eps=eps, beta=1.0).reconstruction == parts.reconstruction


def test_vae_is_float32_by_default_and_casts_its_input():
    vae = VAE(8, hidden=[6], latent_dim=2)
    rng = np.random.default_rng(0)
    vae.loss(rng.random((3, 8)), rng=rng)        # float64 data in
    vae.backward()
    assert all(g.dtype == np.float32 for g in vae.grads.values())
    assert vae.sample(5, rng).dtype == np.float32
    assert vae.reconstruct(rng.random((2, 8))).shape == (2, 8)


def test_params_and_grads_have_the_same_keys_and_shapes():
    vae = VAE(8, hidden=[6, 4], latent_dim=2, likelihood="gaussian-learned")
    assert vae.params.keys() == vae.grads.keys()
    assert all(vae.params[k].shape == vae.grads[k].shape for k in vae.params)
    assert vae.params["decoder.4.W"].shape == (6, 16)    # means and log-variances


def _train(seed, steps=300):
    """A few hundred Adam steps on one small batch of real MNIST digits (the embedded subset)."""
    rng = np.random.default_rng(seed)
    x = fixed_binarization(load_dataset("mnist-subset").x_train[:64], seed=0)
    vae = VAE(784, hidden=[64], latent_dim=4, rng=rng)
    opt = Adam(vae.params, lr=3e-3)
    losses = []
    for _ in range(steps):
        losses.append(vae.loss(x, rng=rng).loss)
        vae.backward()
        opt.step(vae.grads)
    return np.array(losses)


def test_training_reduces_the_negative_elbo_and_is_reproducible():
    a, b = _train(seed=3), _train(seed=3)
    assert_allclose(a, b, rtol=0, atol=0)
    assert a[-20:].mean() < 0.6 * a[:20].mean()


@pytest.mark.parametrize("bad, match", [
    (np.zeros((4, 7)), r"shape \(N, 8\)"),
    (np.zeros(8), r"shape \(N, 8\)"),
    (np.full((4, 8), np.nan), "NaN or Inf"),
    (np.full((4, 8), np.inf), "NaN or Inf"),
    (np.full((4, 8), 255.0), r"\[0, 1\].*x / 255"),
    (np.full((4, 8), -0.5), r"\[0, 1\]"),
    (np.zeros((0, 8)), "empty"),
])
def test_bad_input_is_a_clear_error(bad, match):
    vae = VAE(8, hidden=[6], latent_dim=2)
    with pytest.raises(ValueError, match=match):
        vae.loss(bad, rng=np.random.default_rng(0))


def test_gaussian_decoders_accept_real_valued_data_but_reject_bad_settings():
    rng = np.random.default_rng(0)
    VAE(8, hidden=[6], latent_dim=2, likelihood="gaussian").loss(5 * rng.standard_normal((3, 8)), rng=rng)
    with pytest.raises(ValueError, match="likelihood must be one of"):
        VAE(8, likelihood="poisson")
