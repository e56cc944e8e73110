import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.stats import multivariate_normal, norm

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
# -- two levels: z_2 -> z_1 -> x with a hierarchical q ---------------------------------------------

two_level_shapes = dict(n=st.integers(1, 4), d=st.integers(1, 5), l1=st.integers(1, 3),
                        l2=st.integers(1, 3), seed=seeds, sigma=st.floats(0.3, 2.0))


def _two_level_model(rng, d, l1, l2, sigma):
    return lg.TwoLevelModel(rng.standard_normal((l1, l2)), rng.standard_normal(l1),
                            rng.uniform(-1.5, 0.5, l1), rng.standard_normal((d, l1)),
                            rng.standard_normal(d), sigma)


def _two_level_q(rng, n, l1, l2):
    return lg.TwoLevelQ(rng.standard_normal((n, l2)), rng.uniform(-2.0, 1.0, (n, l2)),
                        rng.standard_normal((n, l1)), rng.standard_normal((l1, l2)),
                        rng.uniform(-2.0, 1.0, (n, l1)))


def _log_joint(x, z1, z2, m):
    """log p(x|z_1) + log p(z_1|z_2) + log p(z_2), per row, from scipy's densities."""
    return np.array([multivariate_normal(m.W @ a + m.b, m.sigma**2 * np.eye(len(m.b))).logpdf(xi)
                     + multivariate_normal(m.A @ c + m.a, np.diag(np.exp(m.log_var_1))).logpdf(a)
                     + multivariate_normal(np.zeros(len(c)), np.eye(len(c))).logpdf(c)
                     for xi, a, c in zip(x, z1, z2)])


@given(**two_level_shapes)
def test_two_level_log_marginal_is_the_gaussian_density_of_x(n, d, l1, l2, seed, sigma):
    rng = np.random.default_rng(seed)
    m = _two_level_model(rng, d, l1, l2, sigma)
    x = lg.two_level_sample(n, m, rng)
    S1 = m.A @ m.A.T + np.diag(np.exp(m.log_var_1))                   # Cov z_1
    exact = multivariate_normal(m.W @ m.a + m.b, m.W @ S1 @ m.W.T + sigma**2 * np.eye(d))
    assert_allclose(lg.two_level_log_marginal(x, m), exact.logpdf(x).reshape(n), rtol=1e-10, atol=1e-10)


@given(**two_level_shapes)
def test_two_level_posterior_is_bayes_rule(n, d, l1, l2, seed, sigma):
    rng = np.random.default_rng(seed)
    m = _two_level_model(rng, d, l1, l2, sigma)
    x, z1, z2 = lg.two_level_sample(n, m, rng), rng.standard_normal((n, l1)), rng.standard_normal((n, l2))
    mean, cov = lg.two_level_posterior(x, m)
    bayes = _log_joint(x, z1, z2, m) - lg.two_level_log_marginal(x, m)
    density = [multivariate_normal(mi, cov).logpdf(zi) for mi, zi in zip(mean, np.hstack([z1, z2]))]
    assert_allclose(bayes, density, rtol=1e-9, atol=1e-9)


@given(**two_level_shapes)
def test_log_p_x_is_hierarchical_elbo_plus_kl_to_the_posterior(n, d, l1, l2, seed, sigma):
    rng = np.random.default_rng(seed)
    m = _two_level_model(rng, d, l1, l2, sigma)
    x, q = lg.two_level_sample(n, m, rng), _two_level_q(rng, n, l1, l2)
    parts = lg.two_level_elbo(x, q, m)
    gap = lg.two_level_kl_to_posterior(x, q, m)
    assert_allclose(parts.elbo, parts.expected_log_lik - parts.kl_2 - parts.kl_1, rtol=1e-12)
    assert_allclose(parts.elbo + gap, lg.two_level_log_marginal(x, m), rtol=1e-9, atol=1e-9)
    assert np.all(parts.elbo <= lg.two_level_log_marginal(x, m) + 1e-9)
    assert np.all(parts.kl_1 >= 0) and np.all(parts.kl_2 >= 0)


@pytest.mark.parametrize("seed", range(3))
def test_hierarchical_elbo_and_its_parts_match_monte_carlo(seed):
    # sample z_2 ~ q(z_2|x), then z_1 ~ q(z_1|z_2,x): each part is the mean of its log-ratio
    rng = np.random.default_rng(seed)
    d, l1, l2, S = 4, 3, 2, 40_000
    m = _two_level_model(rng, d, l1, l2, 0.8)
    x, q = lg.two_level_sample(1, m, rng), _two_level_q(rng, 1, l1, l2)
    z2 = q.mu_2 + np.exp(0.5 * q.log_var_2) * rng.standard_normal((S, l2))
    mean_1 = q.c + z2 @ q.B.T                                          # (S, L1)
    z1 = mean_1 + np.exp(0.5 * q.log_var_1) * rng.standard_normal((S, l1))
    sd_q1, sd_p1 = np.exp(0.5 * q.log_var_1), np.exp(0.5 * m.log_var_1)
    log_lik = lg.log_likelihood(x, z1, m.W, m.b, m.sigma)
    kl_1 = np.sum(norm.logpdf(z1, mean_1, sd_q1) - norm.logpdf(z1, z2 @ m.A.T + m.a, sd_p1), axis=1)
    kl_2 = np.sum(norm.logpdf(z2, q.mu_2, np.exp(0.5 * q.log_var_2)) - norm.logpdf(z2), axis=1)
    exact = lg.two_level_elbo(x, q, m)
    for mc, value in ((log_lik, exact.expected_log_lik), (kl_1, exact.kl_1), (kl_2, exact.kl_2),
                      (log_lik - kl_1 - kl_2, exact.elbo)):
        assert abs(mc.mean() - value[0]) < 4 * mc.std(ddof=1) / np.sqrt(S)


@given(n=st.integers(1, 3), d=st.integers(1, 5), l1=st.integers(1, 3), seed=seeds, sigma=st.floats(0.3, 2.0))
def test_hierarchical_q_reaches_log_p_x_when_the_posterior_lies_in_its_family(n, d, l1, seed, sigma):
    # With one top dimension and W with orthogonal columns, p(z_2|x) is a 1-d Gaussian and
    # p(z_1|z_2,x) has the diagonal precision exp(-log_var_1) + W^T W / sigma^2: the hierarchical
    # q can equal the posterior (a mean-field q cannot: z_1 and z_2 are correlated given x).
    rng = np.random.default_rng(seed)
    W = np.linalg.qr(rng.standard_normal((max(d, l1), l1)))[0][:d] * rng.uniform(0.5, 2.0, l1)
    if not np.allclose(W.T @ W, np.diag(np.diag(W.T @ W))):
        W = np.zeros((d, l1))                                          # d < l1: still diagonal
    m = lg.TwoLevelModel(rng.standard_normal((l1, 1)), rng.standard_normal(l1),
                         rng.uniform(-1.5, 0.5, l1), W, rng.standard_normal(d), sigma)
    x = lg.two_level_sample(n, m, rng)
    mean, cov = lg.two_level_posterior(x, m)
    S11, S12, S22 = cov[:l1, :l1], cov[:l1, l1:], cov[l1:, l1:]
    B = S12 / S22                                                      # E[z_1|z_2] = c + B z_2
    cond = S11 - B @ S12.T                                             # Cov[z_1|z_2], diagonal
    assert_allclose(cond, np.diag(np.diag(cond)), atol=1e-10)
    q = lg.TwoLevelQ(mean[:, l1:], np.full((n, 1), np.log(S22[0, 0])), mean[:, :l1] - mean[:, l1:] @ B.T,
                     B, np.tile(np.log(np.diag(cond)), (n, 1)))
    assert_allclose(lg.two_level_elbo(x, q, m).elbo, lg.two_level_log_marginal(x, m), rtol=1e-9, atol=1e-9)
    assert_allclose(lg.two_level_kl_to_posterior(x, q, m), 0, atol=1e-8)
