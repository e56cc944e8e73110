import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.stats import norm

from minivae import (bernoulli_nll, gaussian_nll, gaussian_nll_fixed, kl_per_dimension,
                     kl_standard_normal, mse, numerical_gradient)

seeds = st.integers(0, 2**32 - 1)
shapes = dict(n=st.integers(1, 4), d=st.integers(1, 6), seed=seeds)


@given(**shapes)
def test_kl_gradient_matches_finite_differences(n, d, seed):
    rng = np.random.default_rng(seed)
    mu, log_var = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    _, dmu, dlog_var = kl_standard_normal(mu, log_var)
    f = lambda: kl_standard_normal(mu, log_var)[0]
    assert_allclose(dmu, numerical_gradient(f, mu), rtol=1e-6, atol=1e-9)
    assert_allclose(dlog_var, numerical_gradient(f, log_var), rtol=1e-6, atol=1e-9)


@given(**shapes)
def test_kl_is_nonnegative(n, d, seed):
    rng = np.random.default_rng(seed)
    kl, _, _ = kl_standard_normal(3 * rng.standard_normal((n, d)), 3 * rng.standard_normal((n, d)))
    assert kl >= 0


def test_kl_is_exactly_zero_at_the_prior():
    kl, dmu, dlog_var = kl_standard_normal(np.zeros((3, 4)), np.zeros((3, 4)))
    assert kl == 0.0
    assert not dmu.any() and not dlog_var.any()


def test_kl_per_dimension_sums_to_the_kl():
    rng = np.random.default_rng(1)
    mu, log_var = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    assert_allclose(kl_per_dimension(mu, log_var).sum(), kl_standard_normal(mu, log_var)[0], rtol=1e-12)


def test_closed_form_kl_matches_monte_carlo():
    # KL(q || p) = E_q[ log q(z) - log p(z) ], estimated with many samples from q
    rng = np.random.default_rng(0)
    mu, log_var = np.array([[0.7, -1.2, 0.1]]), np.array([[-0.5, 0.8, -2.0]])
    sigma = np.exp(0.5 * log_var)
    z = mu + sigma * rng.standard_normal((400_000, 3))
    terms = np.sum(norm.logpdf(z, mu, sigma) - norm.logpdf(z), axis=1)
    se = terms.std() / np.sqrt(len(terms))
    assert abs(terms.mean() - kl_standard_normal(mu, log_var)[0]) < 4 * se


@given(**shapes)
def test_bernoulli_nll_gradient_matches_finite_differences(n, d, seed):
    rng = np.random.default_rng(seed)
    logits, x = 3 * rng.standard_normal((n, d)), rng.random((n, d))
    _, dlogits = bernoulli_nll(logits, x)
    assert_allclose(dlogits, numerical_gradient(lambda: bernoulli_nll(logits, x)[0], logits),
                    rtol=1e-6, atol=1e-9)


def test_bernoulli_nll_matches_the_textbook_formula():
    rng = np.random.default_rng(0)
    logits, x = rng.standard_normal((3, 5)), rng.random((3, 5))
    p = 1 / (1 + np.exp(-logits))
    textbook = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p)) / 3
    assert_allclose(bernoulli_nll(logits, x)[0], textbook, rtol=1e-12)


def test_bernoulli_nll_is_finite_and_exact_for_huge_logits():
    logits = np.array([[100.0, -100.0, 100.0, -100.0]])
    x = np.array([[1.0, 0.0, 0.0, 1.0]])
    with np.errstate(all="raise"):
        value, dlogits = bernoulli_nll(logits, x)
    # right answers cost ~exp(-100) each; wrong ones cost exactly 100 nats each
    assert_allclose(value, 200.0 + 2 * np.log1p(np.exp(-100.0)), rtol=1e-15)
    assert_allclose(dlogits, [[0.0, 0.0, 1.0, -1.0]], atol=1e-40)
    assert np.isfinite(bernoulli_nll(np.array([[1e4, -1e4]]), np.array([[0.0, 1.0]]))[0])


@given(**shapes, sigma=st.floats(0.1, 3.0))
def test_fixed_sigma_gaussian_nll_is_scaled_mse_plus_a_constant(n, d, seed, sigma):
    rng = np.random.default_rng(seed)
    mean, x = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    value, dmean = gaussian_nll_fixed(mean, x, sigma)
    err, dx_hat = mse(mean, x)
    assert_allclose(value, err / (2 * sigma**2) + 0.5 * d * np.log(2 * np.pi * sigma**2), rtol=1e-10)
    assert_allclose(dmean, dx_hat / (2 * sigma**2), rtol=1e-10)
    assert_allclose(value, -np.sum(norm.logpdf(x, mean, sigma)) / n, rtol=1e-10)
    assert_allclose(dmean, numerical_gradient(lambda: gaussian_nll_fixed(mean, x, sigma)[0], mean),
                    rtol=1e-6, atol=1e-9)


@given(**shapes)
def test_learned_variance_gaussian_nll_and_gradients(n, d, seed):
    rng = np.random.default_rng(seed)
    mean, log_var, x = (rng.standard_normal((n, d)) for _ in range(3))
    value, dmean, dlog_var = gaussian_nll(mean, log_var, x)
    assert_allclose(value, -np.sum(norm.logpdf(x, mean, np.exp(0.5 * log_var))) / n, rtol=1e-10)
    f = lambda: gaussian_nll(mean, log_var, x)[0]
    assert_allclose(dmean, numerical_gradient(f, mean), rtol=1e-6, atol=1e-9)
    assert_allclose(dlog_var, numerical_gradient(f, log_var), rtol=1e-6, atol=1e-9)


@given(**shapes)
def test_mse_is_the_squared_error_per_example_and_its_gradient(n, d, seed):
    rng = np.random.default_rng(seed)
    x_hat, x = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    value, dx_hat = mse(x_hat, x)
    assert_allclose(value, np.mean(np.sum((x - x_hat) ** 2, axis=1)), rtol=1e-12)
    assert_allclose(dx_hat, numerical_gradient(lambda: mse(x_hat, x)[0], x_hat), rtol=1e-6, atol=1e-9)


def test_softplus_keeps_relative_precision_in_float32_far_into_the_tails():
    from minivae.losses import softplus
    l = np.linspace(-80, 80, 1601)
    l32 = l.astype(np.float32)
    exact = np.logaddexp(0, l32.astype(np.float64))                # float64, same inputs
    # e^l has relative error ~|l| 6e-8 from the exp itself; log(1 + u) would lose everything
    assert_allclose(softplus(l32), exact, rtol=1e-5)
    assert_allclose(softplus(l), np.logaddexp(0, l), rtol=1e-14)


# -- kl_diag_gaussians: KL between two diagonal Gaussians (the hierarchical VAE's levels) ------

from minivae.losses import kl_diag_gaussians  # noqa: E402  (appended section)


def _two_gaussians(rng, n, d, scale=1.0):
    return [scale * rng.standard_normal((n, d)) for _ in range(4)]   # mu_q, lv_q, mu_p, lv_p


@given(**shapes)
def test_kl_diag_gaussians_gradients_match_finite_differences(n, d, seed):
    rng = np.random.default_rng(seed)
    args = _two_gaussians(rng, n, d)
    f = lambda: kl_diag_gaussians(*args)[0]
    grads = kl_diag_gaussians(*args)[1:]
    for a, g in zip(args, grads):
        assert_allclose(g, numerical_gradient(f, a), rtol=1e-6, atol=1e-9)


@given(**shapes)
def test_kl_diag_gaussians_with_a_standard_normal_p_is_kl_standard_normal(n, d, seed):
    rng = np.random.default_rng(seed)
    mu, log_var = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    kl, dmu_q, dlv_q, _, _ = kl_diag_gaussians(mu, log_var, np.zeros((n, d)), np.zeros((n, d)))
    kl0, dmu0, dlv0 = kl_standard_normal(mu, log_var)
    assert_allclose(kl, kl0, rtol=1e-12, atol=1e-14)
    assert_allclose(dmu_q, dmu0, rtol=1e-12, atol=1e-15)
    assert_allclose(dlv_q, dlv0, rtol=1e-12, atol=1e-15)


@given(**shapes)
def test_kl_diag_gaussians_is_nonnegative_and_zero_only_for_equal_gaussians(n, d, seed):
    rng = np.random.default_rng(seed)
    mu_q, lv_q, mu_p, lv_p = _two_gaussians(rng, n, d, scale=2.0)
    assert kl_diag_gaussians(mu_q, lv_q, mu_p, lv_p)[0] > 0          # distinct almost surely
    kl, *grads = kl_diag_gaussians(mu_q, lv_q, mu_q.copy(), lv_q.copy())
    assert kl == 0.0 or abs(kl) < 1e-12
    for g in grads:                                                     # a minimum: flat there
        assert_allclose(g, 0.0, atol=1e-12)


def test_kl_diag_gaussians_matches_monte_carlo():
    # KL = E_q[ log q(z) - log p(z) ], estimated with 400,000 draws from q
    rng = np.random.default_rng(7)
    mu_q, lv_q = np.array([[0.3, -1.0, 2.0]]), np.array([[-0.5, 0.4, 0.0]])
    mu_p, lv_p = np.array([[-0.2, 0.5, 1.0]]), np.array([[0.3, -0.7, 0.2]])
    sd_q, sd_p = np.exp(0.5 * lv_q), np.exp(0.5 * lv_p)
    z = mu_q + sd_q * rng.standard_normal((400_000, 3))
    log_ratio = np.sum(norm.logpdf(z, mu_q, sd_q) - norm.logpdf(z, mu_p, sd_p), axis=1)
    kl = kl_diag_gaussians(mu_q, lv_q, mu_p, lv_p)[0]
    standard_error = log_ratio.std() / np.sqrt(len(z))
    assert abs(log_ratio.mean() - kl) < 4 * standard_error
