import numpy as np
import pytest
from numpy.testing import assert_allclose

from minivae import VAE, Autoencoder
from minivae import linear_gaussian as lg
from minivae.evaluate import latent_diagnostics, log_likelihood, negative_elbo


def _linear_vae(seed=0, d=6, latent=2, sigma=0.5, encoder_noise=0.0):
    """A VAE with a linear encoder and decoder and fixed sigma: probabilistic PCA, whose
    log p(x) has a closed form (minivae.linear_gaussian).

    The encoder is set to the true posterior's mean map and marginal variances
    (q = N(cov W^T (x - b) / sigma^2, diag(cov))), then perturbed by encoder_noise.
    """
    rng = np.random.default_rng(seed)
    W, b = rng.uniform(-1, 1, (d, latent)), rng.standard_normal(d)   # x = W z + b + noise
    vae = lg.as_vae(W, b, sigma)
    vae.params["encoder.0.W"] += encoder_noise * rng.standard_normal((d, 2 * latent))
    x = lg.sample(20, W, b, sigma, rng)
    return vae, x


def _exact_log_px(vae, x):
    return lg.log_marginal(x, vae.params["decoder.0.W"].T, vae.params["decoder.0.b"], vae.sigma)


def test_importance_weighted_estimate_converges_to_the_exact_log_likelihood():
    vae, x = _linear_vae()
    exact = _exact_log_px(vae, x)
    iw = log_likelihood(vae, x, k=5000, seed=1)
    assert_allclose(iw, exact, atol=0.05)


def test_elbo_and_iw_bound_are_below_log_px_and_iw_tightens_with_k():
    vae, x = _linear_vae(seed=3, encoder_noise=0.3)
    exact = _exact_log_px(vae, x)
    elbo = -np.mean([negative_elbo(vae, x, seed=s).loss for s in range(50)])
    iw1, iw10, iw1000 = (np.mean(log_likelihood(vae, x, k=k, seed=2)) for k in (1, 10, 1000))
    assert elbo < iw10 < iw1000 <= exact.mean() + 0.02
    assert abs(iw1 - elbo) < 0.1 * abs(elbo - exact.mean()) + 0.5   # k = 1 is the ELBO itself
    assert exact.mean() - elbo > 0.1                                 # an untrained q leaves a gap


def test_iw_batching_bounds_memory_without_changing_the_estimate():
    vae, x = _linear_vae(seed=4)
    small = log_likelihood(vae, x, k=2000, seed=0, max_rows=64)
    big = log_likelihood(vae, x, k=2000, seed=0, max_rows=100_000)
    assert_allclose(small, big, atol=0.05)          # same estimator, different noise order


def test_negative_elbo_does_not_depend_on_the_batch_size():
    vae, x = _linear_vae(seed=5)
    assert_allclose(negative_elbo(vae, x, batch_size=3), negative_elbo(vae, x, batch_size=1000), rtol=1e-12)


def test_active_units_and_per_dimension_kl_see_a_collapsed_dimension():
    rng = np.random.default_rng(0)
    vae = VAE(10, hidden=[8], latent_dim=3, rng=rng, dtype=np.float64)
    head = vae.encoder.layers[-1].params
    head["W"][:, [0, 2]] = rng.standard_normal((8, 2))   # mu_0 and mu_2 vary with x: active
    for j in (1, 4):                           # mu_1 = 0 and log_var_1 = 0 for every x: q = prior
        head["W"][:, j] = 0.0
        head["b"][j] = 0.0
    x = rng.random((200, 10))
    diag = latent_diagnostics(vae, x)
    assert diag["active_units"] == 2
    assert diag["kl_per_dim"][1] == 0.0 and diag["activity"][1] == 0.0
    assert np.all(diag["kl_per_dim"][[0, 2]] > 0)
    assert_allclose(diag["kl_per_dim"].sum(), negative_elbo(vae, x).kl, rtol=1e-9)


def test_latent_diagnostics_of_an_autoencoder_is_a_clear_error():
    from minivae.errors import InputError
    with pytest.raises(InputError, match="latent_diagnostics .* needs a VAE"):
        latent_diagnostics(Autoencoder(4, [3], 2), np.zeros((2, 4)))


def test_a_hierarchical_vae_is_pointed_to_its_own_per_level_diagnostics():
    from minivae import HierarchicalVAE
    from minivae.errors import InputError
    model = HierarchicalVAE(4, latent_dims=[2, 1], hidden=[3, 3])
    with pytest.raises(InputError, match="HierarchicalVAE has its own, per level: model.latent_diagnostics"):
        latent_diagnostics(model, np.zeros((2, 4)))


class _ExactWeights:
    """A model that only offers the log-weight interface, with every sample's log w equal to
    the given log p(x) (q is the exact posterior), so the estimate is exact for any k."""
    d_in, dtype = 3, np.dtype(np.float64)

    def __init__(self, log_px):
        self.log_px, self.calls = log_px, []

    def log_weights(self, x, k, rng=None, eps=None):
        self.calls.append((len(x), k))
        return np.broadcast_to(self.log_px(x), (k, len(x))), np.zeros((k, len(x)))


@pytest.mark.parametrize("max_rows", [1, 5, 7, 1024])
def test_log_likelihood_needs_only_log_weights_and_chunks_every_row_once(max_rows):
    x = np.random.default_rng(0).random((9, 3))
    model = _ExactWeights(lambda x: -100.0 * x.sum(axis=1))          # equal weights: IW is exact
    seen = []
    ll = log_likelihood(model, x, k=6, max_rows=max_rows, progress=lambda done, n: seen.append(done))
    assert_allclose(ll, -100.0 * x.sum(axis=1), rtol=1e-12)
    assert sum(n * s for n, s in model.calls) == 9 * 6              # each (example, sample) row once
    assert max(n * s for n, s in model.calls) <= max(max_rows, 1)
    assert seen[-1] == 9 and seen == sorted(seen)


def test_iw_estimate_needs_a_vae_and_a_positive_k():
    with pytest.raises(ValueError, match="needs a VAE"):
        log_likelihood(Autoencoder(4, [3], 2), np.zeros((2, 4)))
    vae, x = _linear_vae()
    for k in (0, 2.5, "10"):
        with pytest.raises(ValueError, match="at least 1"):
            log_likelihood(vae, x, k=k)


def test_bernoulli_iw_estimate_is_finite_and_above_the_elbo():
    rng = np.random.default_rng(0)
    vae = VAE(16, hidden=[8], latent_dim=2, rng=rng)
    x = (rng.random((30, 16)) < 0.5).astype(np.float32)
    ll = log_likelihood(vae, x, k=200)
    assert np.all(np.isfinite(ll))
    assert ll.mean() > -negative_elbo(vae, x).loss
