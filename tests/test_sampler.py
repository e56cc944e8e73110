import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from minivae import GaussianSampler, numerical_gradient, sigma_from_log_var


@given(n=st.integers(1, 4), l=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_sampler_backward_matches_finite_differences(n, l, seed):
    rng = np.random.default_rng(seed)
    mu, log_var = rng.standard_normal((n, l)), rng.standard_normal((n, l))
    eps, dz = rng.standard_normal((n, l)), rng.standard_normal((n, l))
    sampler = GaussianSampler()
    loss = lambda: np.sum(sampler.forward(mu, log_var, eps=eps) * dz)

    sampler.forward(mu, log_var, eps=eps)
    dmu, dlog_var = sampler.backward(dz)

    assert_allclose(dmu, numerical_gradient(loss, mu), rtol=1e-6, atol=1e-9)
    assert_allclose(dlog_var, numerical_gradient(loss, log_var), rtol=1e-6, atol=1e-9)


def test_samples_have_mean_mu_and_variance_exp_log_var():
    # log_var is a log *variance*: Var z = exp(log_var), not exp(log_var)^2 or exp(2 log_var)
    rng = np.random.default_rng(0)
    n = 200_000
    mu = np.array([[-1.0, 0.0, 2.0]])
    log_var = np.array([[np.log(0.25), 0.0, np.log(4.0)]])
    z = GaussianSampler().forward(np.repeat(mu, n, 0), np.repeat(log_var, n, 0), rng=rng)
    var = np.exp(log_var[0])
    se_mean = np.sqrt(var / n)
    se_var = var * np.sqrt(2 / (n - 1))
    assert np.all(np.abs(z.mean(0) - mu[0]) < 4 * se_mean)
    assert np.all(np.abs(z.var(0) - var) < 4 * se_var)


def test_sigma_is_the_square_root_of_the_variance():
    log_var = np.array([-2.0, 0.0, 3.0])
    assert_allclose(sigma_from_log_var(log_var) ** 2, np.exp(log_var), rtol=1e-12)


def test_sampler_is_reproducible_and_type_stable():
    mu = np.zeros((4, 3), np.float32)
    z1 = GaussianSampler().forward(mu, mu, rng=np.random.default_rng(7))
    z2 = GaussianSampler().forward(mu, mu, rng=np.random.default_rng(7))
    assert z1.dtype == np.float32
    assert_allclose(z1, z2, rtol=0, atol=0)


def test_sampler_needs_noise_of_the_right_shape():
    mu = np.zeros((4, 3))
    with pytest.raises(ValueError, match="rng"):
        GaussianSampler().forward(mu, mu)
    with pytest.raises(ValueError, match="shape"):
        GaussianSampler().forward(mu, mu, eps=np.zeros((4, 2)))
