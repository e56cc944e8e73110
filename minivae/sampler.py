r"""The reparameterized Gaussian sampling layer (Kingma & Welling 2014, Sec. 2.4).

    z = mu + sigma * eps,   sigma = exp(log_var / 2),   eps ~ N(0, I)

The noise eps is an input, not a random draw hidden inside the graph, so z is a
differentiable function of (mu, log_var) and the gradient of the ELBO reaches the encoder.
"""
import numpy as np

from .errors import InputError


def sigma_from_log_var(log_var):
    r"""The standard deviation sigma = exp(log_var / 2). The one place minivae computes it.

    log_var is a log *variance*: sigma^2 = exp(log_var). (Treating it as log sigma is the
    classic VAE bug.)
    """
    return np.exp(0.5 * log_var)


class GaussianSampler:
    r"""z = mu + exp(log_var / 2) * eps, with its backward pass.

    mu, log_var, eps, z : ndarray of shape (N, L)

    Not a layer: it has two inputs and no parameters, so its backward returns the two
    input gradients, both always needed.
    """

    def forward(self, mu, log_var, rng=None, eps=None):
        """Draw z (N, L). Pass eps (N, L) to fix the noise, or rng to draw eps ~ N(0, I)."""
        if eps is None:
            if not isinstance(rng, np.random.Generator):
                raise InputError("pass rng=np.random.default_rng(seed) to draw the noise, or eps "
                                 f"itself; got rng={rng!r}")
            eps = rng.standard_normal(mu.shape, dtype=mu.dtype)
        if eps.shape != mu.shape:
            raise InputError(f"eps must have the shape of mu {mu.shape}; got {eps.shape}")
        self._eps = eps
        self._sigma = sigma_from_log_var(log_var)
        return mu + self._sigma * eps          # (N, L)

    def backward(self, dz):
        r"""dz (N, L) -> (dmu, dlog_var), each (N, L).

        dz/dmu = 1                       so  dmu      = dz
        dz/dlog_var = eps sigma / 2      so  dlog_var = dz * eps * sigma / 2
        """
        return dz, dz * self._eps * self._sigma * 0.5
