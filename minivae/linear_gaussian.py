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

The last section extends this to two stochastic levels (the hierarchical VAE's shape):

    z_2 ~ N(0, I_{L2}),   z_1 | z_2 ~ N(A z_2 + a, diag(exp(log_var_1))),   x | z_1 ~ N(W z_1 + b, sigma^2 I_D)

with a hierarchical q(z_1, z_2 | x) = q(z_2|x) q(z_1|z_2, x); its log p(x), posterior and
ELBO are exact too.
"""
from typing import NamedTuple

import numpy as np

from .losses import (LOG_2PI, gaussian_nll_fixed_per_example, kl_diag_gaussians, kl_per_dimension,
                     kl_standard_normal)


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
# -- two levels: z_2 -> z_1 -> x, and a hierarchical q ---------------------------------------------

class TwoLevelModel(NamedTuple):
    r"""z_2 ~ N(0, I), z_1 | z_2 ~ N(A z_2 + a, diag(exp(log_var_1))), x | z_1 ~ N(W z_1 + b, sigma^2 I).

    A : (L1, L2);  a, log_var_1 : (L1,);  W : (D, L1);  b : (D,);  sigma : float > 0
    """
    A: np.ndarray
    a: np.ndarray
    log_var_1: np.ndarray
    W: np.ndarray
    b: np.ndarray
    sigma: float


class TwoLevelQ(NamedTuple):
    r"""A hierarchical Gaussian q(z_1, z_2 | x) = q(z_2|x) q(z_1|z_2, x), per example:

        q(z_2 | x)      = N(mu_2, diag(exp(log_var_2)))             mu_2, log_var_2 : (N, L2)
        q(z_1 | z_2, x) = N(c + B z_2, diag(exp(log_var_1)))        c, log_var_1 : (N, L1);  B : (L1, L2)

    The mean of z_1 depends on the sampled z_2, as in the hierarchical VAE's top-down q.
    """
    mu_2: np.ndarray
    log_var_2: np.ndarray
    c: np.ndarray
    B: np.ndarray
    log_var_1: np.ndarray


def two_level_sample(n, m, rng):
    """Draw n examples (n, D) from the TwoLevelModel m, top down: z_2, then z_1, then x."""
    L1, L2 = m.A.shape
    z2 = rng.standard_normal((n, L2))
    z1 = z2 @ m.A.T + m.a + np.exp(0.5 * m.log_var_1) * rng.standard_normal((n, L1))
    return z1 @ m.W.T + m.b + m.sigma * rng.standard_normal((n, len(m.b)))


def two_level_log_marginal(x, m):
    r"""log p(x) of the TwoLevelModel m, exactly, per example: shape (N,).

    Integrating z_2 out, z_1 ~ N(a, S_1) with S_1 = A A^T + diag(exp(log_var_1)) = F F^T
    (Cholesky), i.e. z_1 = a + F u with u ~ N(0, I_{L1}). So x = (W F) u + (W a + b) + noise:
    the one-level model with W' = W F and b' = W a + b, whose log p(x) is log_marginal.
    """
    F = np.linalg.cholesky(m.A @ m.A.T + np.diag(np.exp(m.log_var_1)))   # (L1, L1)
    return log_marginal(x, m.W @ F, m.W @ m.a + m.b, m.sigma)


def two_level_posterior(x, m):
    r"""The exact posterior p(z_1, z_2 | x) of the stacked z = [z_1, z_2]: (mean (N, L1+L2), cov).

    -log p(z) = 1/2 (z_1 - A z_2 - a)^T T (z_1 - A z_2 - a) + 1/2 ||z_2||^2 + const, T = diag(exp(-log_var_1)),
    a quadratic in z with precision P0 = [[T, -T A], [-A^T T, I + A^T T A]] and linear term
    h0 = [T a, -A^T T a]. The likelihood adds H^T H / sigma^2 and H^T (x - b) / sigma^2 with
    H = [W, 0] (x sees only z_1). Bayes' rule for Gaussians then gives
        cov = (P0 + H^T H / sigma^2)^{-1},    mean = cov (h0 + H^T (x - b) / sigma^2).
    """
    L1, L2 = m.A.shape
    T = np.diag(np.exp(-m.log_var_1))
    P0 = np.block([[T, -T @ m.A], [-m.A.T @ T, np.eye(L2) + m.A.T @ T @ m.A]])
    h0 = np.concatenate([T @ m.a, -m.A.T @ T @ m.a])
    H = np.hstack([m.W, np.zeros((len(m.b), L2))])                    # (D, L1 + L2)
    cov = np.linalg.inv(P0 + H.T @ H / m.sigma**2)
    mean = (h0 + (x - m.b) @ H / m.sigma**2) @ cov                      # cov is symmetric
    return mean, cov


def two_level_q_joint(q):
    r"""The joint Gaussian q(z_1, z_2 | x) of the stacked z = [z_1, z_2]: mean (N, L1+L2), cov (N, ., .).

    With S_2 = diag(exp(log_var_2)) and D_1 = diag(exp(log_var_1)), z_1 = c + B z_2 + D_1^{1/2} e:
        E[z_1] = c + B mu_2,   Cov[z_1] = B S_2 B^T + D_1,   Cov[z_1, z_2] = B S_2.
    """
    S2 = np.exp(q.log_var_2)[:, :, None] * np.eye(q.mu_2.shape[1])      # (N, L2, L2)
    BS2 = q.B @ S2                                                       # (N, L1, L2)
    C11 = BS2 @ q.B.T + np.exp(q.log_var_1)[:, :, None] * np.eye(q.c.shape[1])
    cov = np.concatenate([np.concatenate([C11, BS2], axis=2),
                          np.concatenate([BS2.transpose(0, 2, 1), S2], axis=2)], axis=1)
    return np.concatenate([q.c + q.mu_2 @ q.B.T, q.mu_2], axis=1), cov


class TwoLevelElboParts(NamedTuple):
    """Per-example values in nats, each (N,): elbo = expected_log_lik - kl_2 - kl_1."""
    elbo: np.ndarray
    expected_log_lik: np.ndarray
    kl_2: np.ndarray
    kl_1: np.ndarray


def two_level_elbo(x, q, m):
    r"""The hierarchical ELBO of q for the TwoLevelModel m, in closed form, per example.

        ELBO = E_q[log p(x|z_1)] - KL(q(z_2|x) || p(z_2)) - E_q(z_2)[ KL(q(z_1|z_2,x) || p(z_1|z_2)) ]

    Each term is a Gaussian expectation of a quadratic, E[u^T M u] = E[u]^T M E[u] + tr(M Cov u):
      E_q[log p(x|z_1)] = log p(x | z_1 = E[z_1]) - tr(W Cov[z_1] W^T) / (2 sigma^2)
      KL_2              = 1/2 sum_j ( mu_2j^2 + exp(lv_2j) - lv_2j - 1 )
      KL_1 at z_2 is the diagonal-Gaussian KL with mean gap g(z_2) = (c - a) + (B - A) z_2, whose
      square is, on average over q(z_2), g(mu_2)^2 + diag((B - A) S_2 (B - A)^T), so
      E[KL_1]           = KL( N(c + B mu_2, D_1) || N(A mu_2 + a, T^{-1}) )
                          + 1/2 sum_j diag((B - A) S_2 (B - A)^T)_j exp(-log_var_1,j)
    Returns TwoLevelElboParts(elbo, expected_log_lik, kl_2, kl_1), each of shape (N,).
    """
    mean, cov = two_level_q_joint(q)
    L1 = q.c.shape[1]
    C11 = cov[:, :L1, :L1]                                               # (N, L1, L1)
    spread = np.einsum("dj,njk,dk->n", m.W, C11, m.W)                     # tr(W C11 W^T)
    expected_log_lik = log_likelihood(x, mean[:, :L1], m.W, m.b, m.sigma) - spread / (2 * m.sigma**2)
    kl_2 = np.sum(kl_per_dimension(q.mu_2[None], q.log_var_2[None]), axis=-1)      # (N,)
    G = q.B - m.A                                                         # (L1, L2)
    extra = 0.5 * (np.exp(q.log_var_2) @ (G * G).T) @ np.exp(-m.log_var_1)      # (N,)
    mu_q, mu_p = q.c + q.mu_2 @ q.B.T, q.mu_2 @ m.A.T + m.a              # (N, L1) each
    lv_p = np.broadcast_to(m.log_var_1, mu_p.shape)
    kl_at_mean = np.array([kl_diag_gaussians(mu_q[[i]], q.log_var_1[[i]], mu_p[[i]], lv_p[[i]])[0]
                           for i in range(len(x))])                       # one example at a time
    kl_1 = kl_at_mean + extra
    return TwoLevelElboParts(expected_log_lik - kl_2 - kl_1, expected_log_lik, kl_2, kl_1)


def two_level_kl_to_posterior(x, q, m):
    """KL( q(z_1, z_2 | x) || p(z_1, z_2 | x) ), per example (N,): the gap log p(x) - ELBO."""
    mean_q, cov_q = two_level_q_joint(q)
    mean, cov = two_level_posterior(x, m)
    return kl_gaussians(mean_q, cov_q, mean, cov)
