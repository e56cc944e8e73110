r"""The decoder's distribution p(x|z): which loss its output feeds, and what picture it means.

One name per loss, used by both models, the command line and the docs. A decoder outputs,
for each example, D numbers (or 2D for a learned variance):
- "bernoulli":        logits l;  p(x_i = 1 | z) = sigmoid(l_i).  For binary or [0, 1] data.
- "gaussian":         means;  x | z ~ N(mean, sigma^2 I), sigma fixed: the NLL is
                      ||x - mean||^2 / (2 sigma^2) + D/2 log(2 pi sigma^2).  (VAE)
- "gaussian-learned": means and log-variances, concatenated: (N, 2D)  (Kingma & Welling's
                      continuous-data decoder, used for Frey Face).  (VAE)
- "mse":              x_hat itself;  the quadratic loss ||x - x_hat||^2 of blog Eq. 2.
                      Not a log-likelihood, so only an Autoencoder trains on it.
"""
import numpy as np

from .activations import sigmoid
from .checks import check_unit_interval
from .errors import InputError
from .losses import (bernoulli_nll, bernoulli_nll_per_example, gaussian_nll, gaussian_nll_fixed,
                     gaussian_nll_fixed_per_example, gaussian_nll_per_example, mse)

VAE_LIKELIHOODS = ("bernoulli", "gaussian", "gaussian-learned")
AE_LIKELIHOODS = ("mse", "bernoulli")


def check_likelihood(likelihood, allowed=VAE_LIKELIHOODS):
    """Raise InputError unless likelihood is one of allowed."""
    if likelihood not in allowed:
        hint = (" An autoencoder's quadratic loss (Eq. 2) is 'mse'; a VAE's fixed-sigma "
                "Gaussian decoder is 'gaussian'." if likelihood in ("mse", "gaussian") else "")
        raise InputError(f"likelihood must be one of {allowed}; got {likelihood!r}.{hint}")


def decoder_width(likelihood, d):
    """How many numbers the decoder outputs per example for data of dimension d."""
    return 2 * d if likelihood == "gaussian-learned" else d


def check_targets(x, likelihood):
    """Bernoulli targets must lie in [0, 1]; the others may be any finite number."""
    if likelihood == "bernoulli":
        check_unit_interval(x)


def nll(out, x, likelihood, sigma=None):
    r"""-log p(x|z) (or Eq. 2 for "mse") per example, mean over the batch, and its gradient
    with respect to out.

    out : ndarray of shape (N, decoder_width);  x : ndarray of shape (N, D)
    sigma : the fixed standard deviation, for "gaussian" only.
    Returns (nll, dout) with dout of the shape of out.
    """
    if likelihood == "bernoulli":
        return bernoulli_nll(out, x)
    if likelihood == "gaussian":
        return gaussian_nll_fixed(out, x, sigma)
    if likelihood == "mse":
        return mse(out, x)
    d = x.shape[1]
    value, dmean, dlog_var = gaussian_nll(out[:, :d], out[:, d:], x)
    return value, np.concatenate([dmean, dlog_var], axis=1)


def nll_target_gradient(out, x, likelihood, sigma=None):
    r"""d(batch-mean NLL)/dx with out held fixed: how the loss moves with the target itself.

    bernoulli:         d/dx [ softplus(l) - x l ]              = -l / N
    gaussian:          d/dx ||x - mean||^2 / (2 sigma^2)       = (x - mean) / (N sigma^2)
    gaussian-learned:  d/dx (x - mean)^2 exp(-log_var) / 2     = (x - mean) exp(-log_var) / N
    mse:               d/dx ||x - x_hat||^2                    = 2 (x - x_hat) / N
    Returns (N, D). Only needed for the gradient with respect to the input (x is both the
    encoder's input and the decoder's target).
    """
    n, d = x.shape
    if likelihood == "bernoulli":
        return -out / n
    if likelihood == "gaussian":
        return (x - out) / (n * sigma**2)
    if likelihood == "mse":
        return 2 * (x - out) / n
    return (x - out[:, :d]) * np.exp(-out[:, d:]) / n


def nll_per_example(out, x, likelihood, sigma=None):
    """-log p(x|z) (or Eq. 2 for "mse") for each example: shape (N,). out may carry leading
    sample axes, (S, N, width) with x (N, D), giving (S, N)."""
    if likelihood == "bernoulli":
        return bernoulli_nll_per_example(out, x)
    if likelihood == "gaussian":
        return gaussian_nll_fixed_per_example(out, x, sigma)
    if likelihood == "mse":
        return np.sum((x - out) ** 2, axis=-1)
    d = x.shape[-1]
    return gaussian_nll_per_example(out[..., :d], out[..., d:], x)


def mean_image(out, likelihood, d):
    """E[x|z], for pictures: sigmoid(logits) for Bernoulli, the mean (or x_hat) otherwise. (N, d)"""
    if likelihood == "bernoulli":
        return sigmoid(out)
    return out[:, :d]
