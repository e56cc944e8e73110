r"""The last layer of a Gaussian decoder: raw outputs -> a mean in (0, 1) and a bounded variance.

Kingma & Welling's Frey Face decoder (2014, App. C.2) squashes its means into (0, 1), the
range of the pixels, with a sigmoid. With a learned variance the decoder can also drive
sigma to 0 (on pixels it fits exactly: -log p(x|z) -> -infinity) or to huge values (where
it extrapolates); a lower bound, and optionally an upper one, on sigma stops both:

    mean     = sigmoid(a)                                    if mean == "sigmoid", else a
    log_var  = log( exp(b) + sigma_min^2 )                   a floor:   sigma >= sigma_min
             = lo + (hi - lo) sigmoid(b),                    bounded:   sigma_min <= sigma <= sigma_max
                   lo = log sigma_min^2,  hi = log sigma_max^2
             = b                                             neither (sigma_range None)

The layer sits between the decoder's last Dense layer and the likelihood, so the likelihood
still receives means (and log-variances) and nothing downstream changes. It has no
parameters. Shapes: x, y : (N, D) for a fixed-variance decoder, (N, 2D) (means, then
log-variances) for a learned one.
"""
import math

import numpy as np
from scipy.special import expit

from .checks import check_sigma_range
from .errors import InputError

MEANS = ("linear", "sigmoid")


class GaussianHead:
    r"""(a, b) -> (mean, log_var), as in the module docstring, with its backward pass.

    d : pixels D;  learned_var : whether x carries log-variance columns (N, 2D)
    mean : "linear" or "sigmoid";  sigma_range : None, (sigma_min, None) (a floor) or
    (sigma_min, sigma_max) (bounded); only for a learned variance.
    """

    def __init__(self, d, learned_var, mean="linear", sigma_range=None):
        if mean not in MEANS:
            raise InputError(f"decoder mean must be one of {MEANS}; got {mean!r}")
        sigma_range = check_sigma_range(sigma_range)
        if sigma_range is not None and not learned_var:
            raise InputError("sigma_range bounds a learned variance; use likelihood='gaussian-learned'")
        self.d, self.learned_var, self.mean, self.sigma_range = d, learned_var, mean, sigma_range
        self.params, self.grads = {}, {}

    def forward(self, x):
        """x (N, D) or (N, 2D) raw outputs -> y of the same shape: means [, log-variances]."""
        d = self.d
        y = np.array(x)                                            # a copy: x stays untouched
        if self.mean == "sigmoid":
            y[:, :d] = self._s_mean = expit(x[:, :d])              # mean = sigmoid(a)  (N, D)
        if self.sigma_range is not None:
            b = x[:, d:]                                           # (N, D)
            lo = 2 * math.log(self.sigma_range[0])   # Python floats keep float32 arrays float32
            if self.sigma_range[1] is None:
                y[:, d:] = np.logaddexp(b, lo)                     # log( exp(b) + sigma_min^2 )
                self._dlog_var = expit(b - lo)                     # = exp(b) / (exp(b) + sigma_min^2)
            else:
                hi = 2 * math.log(self.sigma_range[1])
                s = expit(b)
                y[:, d:] = lo + (hi - lo) * s                      # lo + (hi - lo) sigmoid(b)
                self._dlog_var = (hi - lo) * s * (1 - s)
        return y

    def backward(self, dy, need_dx=True):
        r"""dy -> dx, same shape.   dmean/da = s (1 - s);   dlog_var/db as computed in forward."""
        if not need_dx:
            return None
        d = self.d
        dx = np.array(dy)
        if self.mean == "sigmoid":
            dx[:, :d] *= self._s_mean * (1 - self._s_mean)
        if self.sigma_range is not None:
            dx[:, d:] *= self._dlog_var
        return dx
