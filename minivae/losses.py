r"""Losses: each returns its value and the gradient the backward pass needs.

Values are per example in nats: summed over pixels (or latent dimensions), averaged over
the batch of N examples. The gradients are of that batch mean, hence the 1/N.
The ``*_per_example`` functions return one number per example, shape (N,), for
evaluation (importance weighting needs log p(x|z) example by example).
"""
import math
from typing import NamedTuple

import numpy as np

from .activations import sigmoid
from .checks import check_sigma

LOG_2PI = math.log(2 * math.pi)   # a Python float: a numpy float64 would upcast float32 arrays


class LossParts(NamedTuple):
    """What a model's loss returns: per-example values averaged over the batch, in nats.

    loss = reconstruction + beta kl. For a VAE, loss is the negative ELBO and reconstruction
    E_q[-log p(x|z)]; for an Autoencoder trained on Eq. 2 (likelihood "mse") reconstruction
    is the squared error ||x - x_hat||^2, not a log-likelihood, and kl is 0.
    """
    loss: float
    reconstruction: float
    kl: float


# -- KL( q(z|x) || p(z) ): the regulariser of the ELBO (blog Eq. 3, second term) -----------

def kl_per_dimension(mu, log_var):
    r"""KL of each latent dimension, averaged over the batch: shape (L,).

    KL_j = 1/2 ( mu_j^2 + exp(log_var_j) - log_var_j - 1 )
    A dimension whose KL stays near 0 is inactive: its posterior equals the prior.
    """
    return 0.5 * np.mean(mu * mu + np.exp(log_var) - log_var - 1, axis=0)


def kl_standard_normal(mu, log_var):
    r"""KL( N(mu, diag(exp(log_var))) || N(0, I) ), per example, averaged over the batch.

    mu, log_var : ndarray of shape (N, L)

    KL        = 1/2 sum_j ( mu_j^2 + exp(log_var_j) - log_var_j - 1 )     (blog Eq. 3, 2nd term)
    dKL/dmu   = mu / N
    dKL/dlv   = ( exp(log_var) - 1 ) / (2 N)

    Returns (kl, dmu, dlog_var): a float and two arrays of shape (N, L).
    """
    n = mu.shape[0]
    var = np.exp(log_var)
    kl = 0.5 * np.sum(mu * mu + var - log_var - 1) / n
    return float(kl), mu / n, (var - 1) / (2 * n)


def softplus(l):
    r"""softplus(l) = log(1 + e^l) = max(l, 0) + log1p(e^(-|l|)), same shape as l.

    The second form never overflows (e^(-|l|) <= 1), and log1p keeps full relative
    precision where e^(-|l|) is tiny (log(1 + u) rounds to 0 once u < 6e-8 in float32).
    """
    return np.maximum(l, 0) + np.log1p(np.exp(-np.abs(l)))


# -- Bernoulli decoder: -log p(x|z) with p = sigmoid(logits) ---------------------------------

def bernoulli_nll_per_example(logits, x):
    r"""-log p(x|z) = sum_i [ softplus(l_i) - x_i l_i ], one value per example: shape (N,).

    From  -[x log s(l) + (1-x) log(1 - s(l))]  with  log s(l) = -softplus(-l) and
    log(1 - s(l)) = -softplus(l):  softplus(l) - x l.  Exact for logits of any size: no
    clipping, no log(0). Sums over the last axis, so leading axes broadcast:
    logits (S, N, D) and x (N, D) give (S, N).
    """
    return np.sum(softplus(logits) - x * logits, axis=-1)


def bernoulli_nll(logits, x):
    r"""Bernoulli negative log-likelihood from logits, per example, mean over the batch.

    logits, x : ndarray of shape (N, D), x in [0, 1]

    NLL       = 1/N sum_n sum_i [ softplus(l_ni) - x_ni l_ni ]
    dNLL/dl   = ( sigmoid(l) - x ) / N

    Returns (nll, dlogits).
    """
    n = logits.shape[0]
    nll = float(np.sum(bernoulli_nll_per_example(logits, x))) / n
    return nll, (sigmoid(logits) - x) / n


# -- Gaussian decoders ------------------------------------------------------------------------

def gaussian_nll_fixed_per_example(mean, x, sigma):
    r"""-log N(x; mean, sigma^2 I) = ||x - mean||^2 / (2 sigma^2) + D/2 log(2 pi sigma^2): (N,).

    Sums over the last axis, so leading axes broadcast (as in bernoulli_nll_per_example).
    """
    d = x.shape[-1]
    r = x - mean
    return np.sum(r * r, axis=-1) / (2 * sigma**2) + 0.5 * d * (LOG_2PI + 2 * np.log(sigma))


def gaussian_nll_fixed(mean, x, sigma=1.0):
    r"""Gaussian NLL with a fixed standard deviation sigma (blog Eqs. 2 and 5: MSE, rescaled).

    mean, x : ndarray of shape (N, D);  sigma : float > 0

    NLL      = 1/N sum_n [ ||x_n - mean_n||^2 / (2 sigma^2) + D/2 log(2 pi sigma^2) ]
             = MSE / (2 sigma^2) + constant
    dNLL/dmean = (mean - x) / (N sigma^2)

    Returns (nll, dmean).
    """
    check_sigma(sigma)
    n = x.shape[0]
    nll = float(np.sum(gaussian_nll_fixed_per_example(mean, x, sigma))) / n
    return nll, (mean - x) / (n * sigma**2)


def gaussian_nll_per_example(mean, log_var, x):
    r"""-log N(x; mean, diag(exp(log_var))), one value per example: shape (N,)."""
    r = x - mean
    return 0.5 * np.sum(r * r * np.exp(-log_var) + log_var + LOG_2PI, axis=-1)


def gaussian_nll(mean, log_var, x):
    r"""Gaussian NLL with a learned per-pixel log-variance (Kingma & Welling, App. C.2).

    mean, log_var, x : ndarray of shape (N, D)

    NLL        = 1/N sum_n sum_i 1/2 [ (x - mean)^2 exp(-log_var) + log_var + log(2 pi) ]
    dNLL/dmean = (mean - x) exp(-log_var) / N
    dNLL/dlv   = 1/2 [ 1 - (x - mean)^2 exp(-log_var) ] / N

    Returns (nll, dmean, dlog_var).
    """
    n = x.shape[0]
    r = x - mean
    inv_var = np.exp(-log_var)
    nll = 0.5 * float(np.sum(r * r * inv_var + log_var + LOG_2PI)) / n
    return nll, -r * inv_var / n, 0.5 * (1 - r * r * inv_var) / n


# -- the autoencoder's quadratic loss (blog Eq. 2) ---------------------------------------------

def mse(x_hat, x):
    r"""Squared reconstruction error ||x - x_hat||^2 per example, mean over the batch (Eq. 2).

    x_hat, x : ndarray of shape (N, D)

    L         = 1/N sum_n ||x_n - x_hat_n||^2
    dL/dx_hat = 2 (x_hat - x) / N

    Returns (loss, dx_hat).
    """
    n = x.shape[0]
    r = x_hat - x
    return float(np.sum(r * r)) / n, 2 * r / n


# -- KL between two diagonal Gaussians: the hierarchical VAE's per-level term -------------------

def kl_diag_gaussians(mu_q, log_var_q, mu_p, log_var_p):
    r"""KL( N(mu_q, diag(exp(log_var_q))) || N(mu_p, diag(exp(log_var_p))) ), per example,
    averaged over the batch, with its gradients with respect to all four arguments.

    mu_q, log_var_q, mu_p, log_var_p : ndarrays of shape (N, L)

    One dimension at a time (the log-density ratio's expectation under q):
        KL_j = 1/2 [ lv_p - lv_q + ( exp(lv_q) + (mu_q - mu_p)^2 ) exp(-lv_p) - 1 ]
    With mu_p = 0 and lv_p = 0 it is kl_standard_normal's 1/2 (mu^2 + exp(lv) - lv - 1).

        dKL/dmu_q = (mu_q - mu_p) exp(-lv_p) / N                    dKL/dmu_p = -dKL/dmu_q
        dKL/dlv_q = ( exp(lv_q - lv_p) - 1 ) / (2 N)
        dKL/dlv_p = ( 1 - ( exp(lv_q) + (mu_q - mu_p)^2 ) exp(-lv_p) ) / (2 N)

    Returns (kl, dmu_q, dlog_var_q, dmu_p, dlog_var_p): a float and four (N, L) arrays.
    """
    n = mu_q.shape[0]
    diff = mu_q - mu_p                                        # (N, L)
    inv_var_p = np.exp(-log_var_p)                            # 1 / sigma_p^2
    ratio = np.exp(log_var_q - log_var_p)                     # sigma_q^2 / sigma_p^2
    kl = 0.5 * np.sum(log_var_p - log_var_q + ratio + diff * diff * inv_var_p - 1) / n
    dmu_q = diff * inv_var_p / n
    dlog_var_q = (ratio - 1) / (2 * n)
    dlog_var_p = (1 - ratio - diff * diff * inv_var_p) / (2 * n)
    return float(kl), dmu_q, dlog_var_q, -dmu_q, dlog_var_p
