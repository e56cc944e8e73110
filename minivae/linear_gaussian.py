r"""The linear-Gaussian latent model (probabilistic PCA): a VAE whose every term is exact.

    z ~ p(z) = N(0, I_L)                                  the prior
    x | z ~ p(x|z) = N(W z + b, sigma^2 I_D)              a linear decoder, W (D, L), b (D,)

For this model the integral of blog Eq. 1, p(x) = \int p(x|z) p(z) dz, has a closed form,
and so does the true posterior p(z|x):

    p(x)   = N(x; b, C),          C = W W^T + sigma^2 I_D                       (D, D)
    p(z|x) = N(z; m, M^{-1}),     M = I_L + W^T W / sigma^2                     (L, L)
                                  m = M^{-1} W^T (x - b) / sigma^2

With a diagonal Gaussian q(z) = N(mu, diag(exp(log_var))) the ELBO (blog Eq. 4) is exact
too, so every line of Eq. 3,

    log p(x) = E_q[log p(x|z)] - KL(q || p(z)) + KL(q || p(z|x)),

can be checked to machine precision: the notebooks 02-05 and tests/test_linear_gaussian.py
do that. All functions are vectorized over a batch: x (N, D), z (N, L), mu and log_var (N, L).
"""
from typing import NamedTuple

import numpy as np

from .losses import LOG_2PI, gaussian_nll_fixed_per_example, kl_per_dimension, kl_standard_normal


# -- the generative model ------------------------------------------------------------------------

def sample(n, W, b, sigma, rng):
    r"""Draw n examples from the model: z ~ N(0, I_L), then x = W z + b + sigma eps.

    W : ndarray of shape (D, L);  b : ndarray of shape (D,);  sigma : float > 0
    rng : numpy Generator

    Returns x : ndarray of shape (n, D).
    """
    D, L = W.shape
    z = rng.standard_normal((n, L))                                  # (n, L)
    return z @ W.T + b + sigma * rng.standard_normal((n, D))        # (n, L) @ (L, D) -> (n, D)


def log_prior(z):
    r"""log p(z) = log N(z; 0, I_L) = -1/2 ( ||z||^2 + L log(2 pi) ), per row: shape (N,).

    z : ndarray of shape (N, L)
    """
    return -0.5 * np.sum(z * z + LOG_2PI, axis=-1)


def log_likelihood(x, z, W, b, sigma):
    r"""log p(x|z) = log N(x; W z + b, sigma^2 I_D), per row: shape (N,).

    x : ndarray of shape (N, D) or (1, D);  z : ndarray of shape (N, L) or (S, L)
    A single x (1, D) broadcasts against S samples z (S, L): that is the naive Monte Carlo
    estimate of blog Eq. 1.

        log p(x|z) = -||x - W z - b||^2 / (2 sigma^2) - D/2 log(2 pi sigma^2)
    """
    return -gaussian_nll_fixed_per_example(z @ W.T + b, x, sigma)   # (N, L) @ (L, D) -> (N, D)


def log_marginal(x, W, b, sigma):
    r"""log p(x) = log N(x; b, W W^T + sigma^2 I_D), exactly, per example: shape (N,).

    x : ndarray of shape (N, D);  W : ndarray of shape (D, L);  b : ndarray of shape (D,)

    C = W W^T + sigma^2 I is (D, D), but everything needed is computed from the (L, L)
    matrix M = I + W^T W / sigma^2 and its Cholesky factor M = R R^T:

        log|C|        = D log sigma^2 + log|M|                 (matrix determinant lemma)
        r^T C^{-1} r  = ||r||^2 / sigma^2 - ||R^{-1} W^T r||^2 / sigma^4      (Woodbury)
        log p(x)      = -1/2 ( D log(2 pi) + log|C| + r^T C^{-1} r ),    r = x - b
    """
    D = W.shape[0]
    R = np.linalg.cholesky(_precision(W, sigma))                    # (L, L), lower triangular
    r = x - b                                                       # (N, D)
    u = np.linalg.solve(R, W.T @ r.T) / sigma**2                    # (L, D) @ (D, N) -> (L, N)
    log_det_C = D * np.log(sigma**2) + 2 * np.sum(np.log(np.diag(R)))
    quad = np.sum(r * r, axis=1) / sigma**2 - np.sum(u * u, axis=0)  # (N,)
    return -0.5 * (D * LOG_2PI + log_det_C + quad)


# -- the true posterior p(z|x) ------------------------------------------------------------------

def _precision(W, sigma):
    r"""M = I_L + W^T W / sigma^2, the posterior precision: shape (L, L)."""
    return np.eye(W.shape[1]) + W.T @ W / sigma**2                 # (L, D) @ (D, L) -> (L, L)


def posterior(x, W, b, sigma):
    r"""The exact posterior p(z|x) = N(mean, cov), by Bayes' rule for Gaussians.

    x : ndarray of shape (N, D)

        M    = I_L + W^T W / sigma^2
        cov  = M^{-1}                           the same for every x
        mean = cov W^T (x - b) / sigma^2        one row per example

    Returns (mean, cov): ndarrays of shape (N, L) and (L, L).
    """
    cov = np.linalg.inv(_precision(W, sigma))                        # (L, L)
    mean = (x - b) @ W @ cov / sigma**2               # (N, D) @ (D, L) @ (L, L) -> (N, L)
    return mean, cov


def log_posterior(z, x, W, b, sigma):
    r"""log p(z|x) = log N(z; mean(x), M^{-1}), per row: shape (N,).

    z : ndarray of shape (N, L);  x : ndarray of shape (N, D) (or (1, D) for many z)

    With the precision M = R R^T (Cholesky) and e = z - mean:
        log p(z|x) = -1/2 ( L log(2 pi) - log|M| + ||R^T e||^2 )
    """
    L = W.shape[1]
    M = _precision(W, sigma)
    R = np.linalg.cholesky(M)
    mean, _ = posterior(x, W, b, sigma)
    e = z - mean                                                    # (N, L)
    v = e @ R                                                       # rows are (R^T e_n)^T
    return -0.5 * (L * LOG_2PI - 2 * np.sum(np.log(np.diag(R))) + np.sum(v * v, axis=1))


# -- the ELBO of a diagonal Gaussian q (blog Eqs. 3 and 4) ---------------------------------------

class ElboParts(NamedTuple):
    """Per-example values in nats, each of shape (N,): elbo = expected_log_lik - kl."""
    elbo: np.ndarray
    expected_log_lik: np.ndarray
    kl: np.ndarray


def elbo(x, mu, log_var, W, b, sigma):
    r"""The ELBO of q(z) = N(mu, diag(exp(log_var))), in closed form, per example.

    x : ndarray of shape (N, D);  mu, log_var : ndarrays of shape (N, L)

    For a linear decoder the expectation is exact: with z = mu + s * eps, s_j^2 = exp(log_var_j),
        E_q ||x - W z - b||^2 = ||x - W mu - b||^2 + sum_j ||W_:j||^2 exp(log_var_j)
    so
        E_q[log p(x|z)] = log p(x | z = mu) - sum_j ||W_:j||^2 exp(log_var_j) / (2 sigma^2)
        KL(q || p(z))   = 1/2 sum_j ( mu_j^2 + exp(log_var_j) - log_var_j - 1 )
        ELBO            = E_q[log p(x|z)] - KL(q || p(z))                   (blog Eq. 4)

    Returns ElboParts(elbo, expected_log_lik, kl), each of shape (N,).
    """
    spread = np.exp(log_var) @ np.sum(W * W, axis=0)                # (N, L) @ (L,) -> (N,)
    expected_log_lik = log_likelihood(x, mu, W, b, sigma) - spread / (2 * sigma**2)
    # kl_per_dimension averages over its first axis; a leading axis of length 1 makes
    # that average the identity, leaving one KL per example and latent dimension.
    kl = np.sum(kl_per_dimension(mu[None], log_var[None]), axis=-1)  # (1, N, L) -> (N,)
    return ElboParts(expected_log_lik - kl, expected_log_lik, kl)


def neg_elbo_grad(x, mu, log_var, W, b, sigma, beta=1.0):
    r"""Gradient of the loss  -1/N sum_n [ E_q[log p(x_n|z)] - beta KL_n ]  w.r.t. mu and log_var.

    x : ndarray of shape (N, D);  mu, log_var : ndarrays of shape (N, L)
    beta : weight of the KL term, as in VAE.loss; beta = 1 is the negative ELBO of elbo().

    Differentiating elbo() term by term (ELBO_n depends only on row n, hence the 1/N):
        dLoss/dmu      = -W^T (x - W mu - b) / (N sigma^2)
                         + beta mu / N
        dLoss/dlog_var =  ||W_:j||^2 exp(log_var_j) / (2 N sigma^2)
                         + beta (exp(log_var_j) - 1) / (2 N)
    The beta terms are the KL's gradient, from kl_standard_normal.

    Returns (dmu, dlog_var): ndarrays of shape (N, L).
    """
    n = x.shape[0]
    _, dmu_kl, dlog_var_kl = kl_standard_normal(mu, log_var)
    r = x - mu @ W.T - b                                            # (N, D)
    dmu = -(r @ W) / (n * sigma**2) + beta * dmu_kl                 # (N, D) @ (D, L) -> (N, L)
    dlog_var = np.exp(log_var) * np.sum(W * W, axis=0) / (2 * n * sigma**2) + beta * dlog_var_kl
    return dmu, dlog_var


# -- the gap: KL between full-covariance Gaussians ------------------------------------------------

def kl_gaussians(mu_q, cov_q, mu_p, cov_p):
    r"""KL( N(mu_q, cov_q) || N(mu_p, cov_p) ) for full covariances, per example: shape (N,).

    mu_q, mu_p : ndarrays of shape (N, L)
    cov_q, cov_p : ndarrays of shape (L, L) (shared by the batch) or (N, L, L)

        KL = 1/2 [ tr(cov_p^{-1} cov_q) + d^T cov_p^{-1} d - L + log|cov_p| - log|cov_q| ],
        d  = mu_p - mu_q

    With Cholesky factors cov_q = A A^T and cov_p = B B^T:
        tr(cov_p^{-1} cov_q) = ||B^{-1} A||_F^2,   d^T cov_p^{-1} d = ||B^{-1} d||^2,
        log|cov| = 2 sum log diag(factor).
    """
    L = mu_q.shape[-1]
    A, B = np.linalg.cholesky(cov_q), np.linalg.cholesky(cov_p)    # (..., L, L)
    trace = np.sum(np.linalg.solve(B, A) ** 2, axis=(-2, -1))       # () or (N,)
    Bd = np.linalg.solve(B, (mu_p - mu_q)[..., None])[..., 0]        # (N, L)
    log_det_p = 2 * np.sum(np.log(np.diagonal(B, axis1=-2, axis2=-1)), axis=-1)
    log_det_q = 2 * np.sum(np.log(np.diagonal(A, axis1=-2, axis2=-1)), axis=-1)
    return 0.5 * (trace + np.sum(Bd * Bd, axis=-1) - L + log_det_p - log_det_q)


def kl_to_posterior(x, mu, log_var, W, b, sigma):
    r"""KL( q(z) || p(z|x) ) for q = N(mu, diag(exp(log_var))): the last term of blog Eq. 3.

    It is the gap log p(x) - ELBO; zero only when q is the true posterior.
    x : ndarray of shape (N, D);  mu, log_var : ndarrays of shape (N, L).  Returns shape (N,).
    """
    mean, cov = posterior(x, W, b, sigma)
    cov_q = np.exp(log_var)[:, :, None] * np.eye(mu.shape[1])      # (N, L, L), diagonal
    return kl_gaussians(mu, cov_q, mean, cov)


# -- the model as a minivae.VAE -------------------------------------------------------------------

def as_vae(W, b, sigma, dtype=np.float64):
    r"""The linear-Gaussian model as a ``minivae.VAE``, with the best encoder a diagonal q allows
    when the posterior is diagonal.

    W : ndarray of shape (D, L);  b : ndarray of shape (D,);  sigma : float > 0

    No hidden layers: the decoder computes z W^T + b (its Dense weight is W^T) with a fixed
    sigma, and the encoder is set to the true posterior's mean map and marginal variances,

        q(z|x) = N( cov W^T (x - b) / sigma^2,  diag(cov) ),    cov = (I + W^T W / sigma^2)^{-1},

    which is p(z|x) itself when W^T W is diagonal (orthogonal columns), and otherwise a
    diagonal q with the right mean: log p(x) - ELBO = KL(q || p(z|x)) > 0.
    """
    from .vae import VAE

    D, L = W.shape
    vae = VAE(D, hidden=[], latent_dim=L, likelihood="gaussian", sigma=sigma, dtype=dtype)
    vae.params["decoder.0.W"][...] = W.T                             # (L, D)
    vae.params["decoder.0.b"][...] = b
    cov = np.linalg.inv(_precision(W, sigma))                        # (L, L)
    enc_W, enc_b = vae.params["encoder.0.W"], vae.params["encoder.0.b"]  # (D, 2L), (2L,)
    enc_W[...] = 0.0
    enc_W[:, :L] = W @ cov / sigma**2                                # mu = (x - b) W cov / sigma^2
    enc_b[:L] = -b @ W @ cov / sigma**2
    enc_b[L:] = np.log(np.diag(cov))                                 # log_var, the same for every x
    return vae
