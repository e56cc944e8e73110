import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.stats import multivariate_normal

from minivae import GaussianSampler, kl_standard_normal, numerical_gradient
from minivae import linear_gaussian as lg

seeds = st.integers(0, 2**32 - 1)
shapes = dict(n=st.integers(1, 5), d=st.integers(1, 6), l=st.integers(1, 4), seed=seeds,
              sigma=st.floats(0.3, 2.0))


def _model(rng, d, l):
    """A random PPCA model (W, b): W with entries of order 1, so the posterior is not diagonal."""
    return rng.standard_normal((d, l)), rng.standard_normal(d)


def _q(rng, n, l):
    """An arbitrary diagonal Gaussian q: mu (n, l), log_var (n, l) with variances in e^[-2, 1]."""
    return rng.standard_normal((n, l)), rng.uniform(-2.0, 1.0, (n, l))


@given(**shapes)
def test_log_marginal_is_the_gaussian_density_with_covariance_w_wt_plus_sigma2(n, d, l, seed, sigma):
    rng = np.random.default_rng(seed)
    W, b = _model(rng, d, l)
    x = lg.sample(n, W, b, sigma, rng)
    exact = multivariate_normal(b, W @ W.T + sigma**2 * np.eye(d)).logpdf(x).reshape(n)
    assert lg.log_marginal(x, W, b, sigma).shape == (n,)
    assert_allclose(lg.log_marginal(x, W, b, sigma), exact, rtol=1e-10, atol=1e-10)


@given(**shapes)
def test_posterior_is_bayes_rule(n, d, l, seed, sigma):
    # log p(z|x) = log p(x|z) + log p(z) - log p(x), at arbitrary z, checked with scipy's density
    rng = np.random.default_rng(seed)
    W, b = _model(rng, d, l)
    x, z = lg.sample(n, W, b, sigma, rng), 2 * rng.standard_normal((n, l))
    mean, cov = lg.posterior(x, W, b, sigma)
    assert mean.shape == (n, l) and cov.shape == (l, l)

    bayes = lg.log_likelihood(x, z, W, b, sigma) + lg.log_prior(z) - lg.log_marginal(x, W, b, sigma)
    scipy_density = np.array([multivariate_normal(m, cov).logpdf(zi) for m, zi in zip(mean, z)])

    assert_allclose(bayes, scipy_density, rtol=1e-9, atol=1e-9)
    assert_allclose(lg.log_posterior(z, x, W, b, sigma), scipy_density, rtol=1e-9, atol=1e-9)


def test_log_likelihood_and_prior_are_the_gaussian_densities():
    rng = np.random.default_rng(1)
    W, b = _model(rng, 4, 2)
    x, z = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    lik = [multivariate_normal(W @ zi + b, 0.5**2 * np.eye(4)).logpdf(xi) for xi, zi in zip(x, z)]
    prior = multivariate_normal(np.zeros(2), np.eye(2)).logpdf(z)
    assert_allclose(lg.log_likelihood(x, z, W, b, 0.5), lik, rtol=1e-12)
    assert_allclose(lg.log_prior(z), prior, rtol=1e-12)


@given(**shapes)
def test_log_p_x_is_elbo_plus_kl_to_the_posterior_for_any_diagonal_q(n, d, l, seed, sigma):
    # blog Eq. 3: log p(x) = E_q[log p(x|z)] - KL(q || p(z)) + KL(q || p(z|x))
    rng = np.random.default_rng(seed)
    W, b = _model(rng, d, l)
    x = lg.sample(n, W, b, sigma, rng)
    mu, log_var = _q(rng, n, l)
    parts = lg.elbo(x, mu, log_var, W, b, sigma)
    gap = lg.kl_to_posterior(x, mu, log_var, W, b, sigma)

    assert_allclose(parts.elbo, parts.expected_log_lik - parts.kl, rtol=1e-12)
    assert_allclose(parts.elbo + gap, lg.log_marginal(x, W, b, sigma), rtol=1e-9, atol=1e-9)


@given(**shapes)
def test_elbo_never_exceeds_exact_log_likelihood(n, d, l, seed, sigma):
    # blog Eq. 4: the last KL of Eq. 3 is >= 0, so ELBO <= log p(x)
    rng = np.random.default_rng(seed)
    W, b = _model(rng, d, l)
    x = lg.sample(n, W, b, sigma, rng)
    mu, log_var = _q(rng, n, l)
    assert np.all(lg.elbo(x, mu, log_var, W, b, sigma).elbo <= lg.log_marginal(x, W, b, sigma) + 1e-10)
    assert np.all(lg.kl_to_posterior(x, mu, log_var, W, b, sigma) >= -1e-12)


@given(**shapes)
def test_elbo_equals_log_p_x_when_q_is_the_true_posterior(n, d, l, seed, sigma):
    # W with orthogonal columns makes M = I + W^T W / sigma^2 diagonal, so the posterior is a
    # diagonal Gaussian and q can be it exactly.
    rng = np.random.default_rng(seed)
    l = min(l, d)
    Q, _ = np.linalg.qr(rng.standard_normal((d, l)))                 # orthonormal columns
    W, b = Q * rng.uniform(0.2, 3.0, l), rng.standard_normal(d)
    x = lg.sample(n, W, b, sigma, rng)
    mean, cov = lg.posterior(x, W, b, sigma)
    assert_allclose(cov, np.diag(np.diag(cov)), atol=1e-12)
    log_var = np.log(np.diag(cov)) * np.ones((n, 1))

    assert_allclose(lg.elbo(x, mean, log_var, W, b, sigma).elbo, lg.log_marginal(x, W, b, sigma),
                    rtol=1e-9, atol=1e-9)
    assert_allclose(lg.kl_to_posterior(x, mean, log_var, W, b, sigma), 0, atol=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_closed_form_elbo_matches_monte_carlo(seed):
    # ELBO = E_q[ log p(x|z) + log p(z) - log q(z) ], estimated with S reparameterized samples
    rng = np.random.default_rng(seed)
    d, l, sigma, S = 5, 3, 0.8, 20_000
    W, b = _model(rng, d, l)
    x = lg.sample(1, W, b, sigma, rng)
    mu, log_var = _q(rng, 1, l)
    mu_s, log_var_s = np.repeat(mu, S, 0), np.repeat(log_var, S, 0)
    z = GaussianSampler().forward(mu_s, log_var_s, rng=rng)          # (S, L)
    log_q = multivariate_normal(mu[0], np.diag(np.exp(log_var[0]))).logpdf(z)
    terms = lg.log_likelihood(x, z, W, b, sigma) + lg.log_prior(z) - log_q   # (S,)
    se = terms.std(ddof=1) / np.sqrt(S)

    exact = lg.elbo(x, mu, log_var, W, b, sigma).elbo[0]
    assert abs(terms.mean() - exact) < 4 * se


@given(n=st.integers(1, 4), d=st.integers(1, 5), l=st.integers(1, 3), seed=seeds,
       sigma=st.floats(0.3, 2.0), beta=st.sampled_from([1.0, 0.1, 3.0]))
def test_neg_elbo_grad_matches_finite_differences(n, d, l, seed, sigma, beta):
    rng = np.random.default_rng(seed)
    W, b = _model(rng, d, l)
    x = lg.sample(n, W, b, sigma, rng)
    mu, log_var = _q(rng, n, l)

    def loss():
        parts = lg.elbo(x, mu, log_var, W, b, sigma)
        return -np.mean(parts.expected_log_lik - beta * parts.kl)

    dmu, dlog_var = lg.neg_elbo_grad(x, mu, log_var, W, b, sigma, beta=beta)

    assert_allclose(dmu, numerical_gradient(loss, mu), rtol=1e-6, atol=1e-8)
    assert_allclose(dlog_var, numerical_gradient(loss, log_var), rtol=1e-6, atol=1e-8)


@given(n=st.integers(1, 4), l=st.integers(1, 4), seed=seeds)
def test_kl_gaussians_matches_kl_standard_normal_and_is_zero_for_equal_gaussians(n, l, seed):
    rng = np.random.default_rng(seed)
    mu, log_var = _q(rng, n, l)
    cov_q = np.exp(log_var)[:, :, None] * np.eye(l)
    kl = lg.kl_gaussians(mu, cov_q, np.zeros((n, l)), np.eye(l))
    assert kl.shape == (n,)
    assert_allclose(kl.mean(), kl_standard_normal(mu, log_var)[0], rtol=1e-10)

    A = rng.standard_normal((l, l))
    cov = A @ A.T + 0.5 * np.eye(l)
    assert_allclose(lg.kl_gaussians(mu, cov, mu, cov), 0, atol=1e-10)


def test_kl_gaussians_matches_monte_carlo():
    rng = np.random.default_rng(0)
    l, S = 3, 200_000
    A, B = rng.standard_normal((l, l)), rng.standard_normal((l, l))
    cov_q, cov_p = A @ A.T + 0.3 * np.eye(l), B @ B.T + 0.3 * np.eye(l)
    mu_q, mu_p = rng.standard_normal(l), rng.standard_normal(l)
    q, p = multivariate_normal(mu_q, cov_q), multivariate_normal(mu_p, cov_p)
    z = q.rvs(S, random_state=rng)
    terms = q.logpdf(z) - p.logpdf(z)
    kl = lg.kl_gaussians(mu_q[None], cov_q, mu_p[None], cov_p)[0]
    assert abs(terms.mean() - kl) < 4 * terms.std(ddof=1) / np.sqrt(S)


def test_samples_have_the_marginal_mean_and_covariance():
    rng = np.random.default_rng(0)
    W, b = np.array([[1.0, 0.0], [0.5, 2.0], [0.0, -1.0]]), np.array([1.0, -2.0, 0.5])
    sigma, n = 0.5, 200_000
    x = lg.sample(n, W, b, sigma, rng)
    C = W @ W.T + sigma**2 * np.eye(3)
    se_mean = np.sqrt(np.diag(C) / n)
    se_cov = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C**2) / n)   # Var of a Gaussian sample cov
    assert x.shape == (n, 3)
    assert np.all(np.abs(x.mean(0) - b) < 4 * se_mean)
    assert np.all(np.abs(np.cov(x.T) - C) < 4 * se_cov)


def test_as_vae_decodes_w_z_plus_b_and_encodes_the_posterior_mean_and_marginal_variances():
    rng = np.random.default_rng(0)
    W, b, sigma = rng.standard_normal((5, 3)), rng.standard_normal(5), 0.7
    vae = lg.as_vae(W, b, sigma)
    x, z = rng.standard_normal((4, 5)), rng.standard_normal((4, 3))
    mean, cov = lg.posterior(x, W, b, sigma)
    mu, log_var = vae.encode(x)
    assert_allclose(vae.decode(z), z @ W.T + b, rtol=1e-12)
    assert_allclose(mu, mean, rtol=1e-10, atol=1e-12)
    assert_allclose(np.exp(log_var), np.broadcast_to(np.diag(cov), (4, 3)), rtol=1e-10)
