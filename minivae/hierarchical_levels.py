r"""What both inference orders of the hierarchical VAE share: one stochastic level (Level),
the Gaussian log-density log N(z; mu, diag(exp(lv))) with its partial derivatives, and two
small helpers (split a network's output into mean and log-variance; count Dense weights).
"""
from typing import NamedTuple

import numpy as np

from .losses import LOG_2PI


class Level(NamedTuple):
    """One stochastic level after the stochastic pass (top down or bottom up); each array is (N, L_l).

    q = N(mu_q, diag(exp(log_var_q))) is the posterior, p = N(mu_p, diag(exp(log_var_p)))
    the prior at the sampled level above (zeros, i.e. N(0, I), at the top); z ~ q.
    The backward passes also pass gradients in this shape: a Level whose fields are the loss's
    direct partial derivatives with respect to those five (see hierarchical_top_down.backward_levels).
    """
    mu_q: np.ndarray
    log_var_q: np.ndarray
    mu_p: np.ndarray
    log_var_p: np.ndarray
    z: np.ndarray


def log_normal(z, mu, log_var):
    r"""log N(z; mu, diag(exp(log_var))) summed over the last axis: (..., L) -> (...).

        log N = -1/2 sum_j [ (z_j - mu_j)^2 exp(-lv_j) + lv_j + log(2 pi) ]
    """
    r = z - mu
    return -0.5 * np.sum(r * r * np.exp(-log_var) + log_var + LOG_2PI, axis=-1)


def log_normal_gradients(z, mu, log_var):
    r"""The partial derivatives of log_normal(z, mu, log_var), one per entry: (dmu, dlog_var),
    each of the shape of z. The third, with respect to z, is -dmu.

        d log N / dmu_j      =  (z_j - mu_j) exp(-lv_j)
        d log N / dlv_j      =  ( (z_j - mu_j)^2 exp(-lv_j) - 1 ) / 2
        d log N / dz_j       = -(z_j - mu_j) exp(-lv_j)  =  -d log N / dmu_j
    """
    r = z - mu
    r_over_var = r * np.exp(-log_var)
    return r_over_var, 0.5 * (r * r_over_var - 1)


def split(h):
    """(N, 2K) -> the first K columns and the last K: (mean, log-variance)."""
    k = h.shape[1] // 2
    return h[:, :k], h[:, k:]


def dense_count(*sizes):
    """The weights and biases of an MLP through these sizes: sum of (a + 1) b."""
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
