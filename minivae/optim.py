r"""Optimizers: they update a model's ``params`` in place from its ``grads``.

Both take the model's params dict at construction (to size their state) and the grads
dict at each step. ``Adam`` is Algorithm 1 of Kingma & Ba, each line computed in place
into arrays made once, so a step allocates nothing; ``fast.optim.FastAdam`` is the same
Adam that also keeps its first moments out of float32's slow subnormal numbers (tested
equal to the one here), and is the one the command line's training uses.
"""
import math

import numpy as np

from .errors import InputError


class SGD:
    r"""Stochastic gradient descent with optional (heavy-ball) momentum.

    v <- momentum v + g          (v = g when momentum = 0)
    p <- p - lr v
    """

    def __init__(self, params, lr=1e-2, momentum=0.0):
        check_hyperparameters(lr=lr, momentum=momentum)
        self.params, self.lr, self.momentum = params, lr, momentum
        self.velocity = {k: np.zeros_like(p) for k, p in params.items()}

    def step(self, grads):
        """Update every array in self.params in place using grads (same keys and shapes)."""
        check_grads(self.params, grads)
        for k, p in self.params.items():
            v = self.velocity[k]
            v[...] = self.momentum * v + grads[k]
            p -= self.lr * v


class Adam:
    r"""Adam (Kingma & Ba 2015, Algorithm 1) with bias correction.

    params : dict name -> ndarray, updated in place;  lr > 0;  0 <= beta1, beta2 < 1;  eps > 0

        t <- t + 1
        m <- beta1 m + (1 - beta1) g                 first moment
        v <- beta2 v + (1 - beta2) g^2               second (raw) moment
        m_hat = m / (1 - beta1^t)                    bias-corrected
        v_hat = v / (1 - beta2^t)
        p <- p - lr m_hat / ( sqrt(v_hat) + eps )

    The last three lines are computed in the order the paper gives for speed (end of its
    Section 2): multiplying the numerator and the denominator of the step by sqrt(1 - beta2^t),

        p <- p - lr_t m / ( sqrt(v) + eps_t ),   lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t),
                                                 eps_t = eps sqrt(1 - beta2^t),

    the same step with the bias corrections in two numbers instead of two arrays (m_hat and
    v_hat would be two more passes over every parameter, both divisions: about a quarter of
    the step's time, benchmarks/adam_step.py). Each line is computed in place (``out=``)
    into m, v and one scratch array per parameter made once here, so a step allocates
    nothing. tests/test_optim.py checks it against Algorithm 1 exactly as written above,
    entry by entry in Python floats.
    """

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        check_hyperparameters(lr=lr, beta1=beta1, beta2=beta2, eps=eps)
        self.params, self.lr, self.beta1, self.beta2, self.eps = params, lr, beta1, beta2, eps
        self.t = 0
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self._tmp = {k: np.empty_like(p) for k, p in params.items()}   # scratch: no state, never saved

    def step(self, grads):
        """Update every array in self.params in place using grads (same keys and shapes)."""
        check_grads(self.params, grads)
        self.t += 1
        b1, b2 = float(self.beta1), float(self.beta2)            # Python floats: float32 stays float32
        lr_t = float(self.lr) * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        eps_t = float(self.eps) * math.sqrt(1 - b2**self.t)
        for k, p in self.params.items():
            g, m, v, tmp = grads[k], self.m[k], self.v[k], self._tmp[k]
            # m <- beta1 m + (1 - beta1) g
            m *= b1
            m += np.multiply(g, 1 - b1, out=tmp)
            # v <- beta2 v + (1 - beta2) g^2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v *= b2
            v += tmp
            # p <- p - lr_t m / ( sqrt(v) + eps_t )       (= p - lr m_hat / (sqrt(v_hat) + eps))
            np.sqrt(v, out=tmp)
            tmp += eps_t
            np.divide(m, tmp, out=tmp)
            tmp *= lr_t
            p -= tmp


# -- what every optimizer checks before it touches a parameter ----------------------------------
RANGES = {"lr": (0, False, math.inf), "eps": (0, False, math.inf),
          "beta1": (0, True, 1), "beta2": (0, True, 1), "momentum": (0, True, 1)}


def check_hyperparameters(**values):
    """Raise InputError unless each value is a finite real number in its range (RANGES):
    lr > 0, eps > 0, and 0 <= beta1, beta2, momentum < 1 (beta1 = 1 would divide by 1 - 1)."""
    for name, value in values.items():
        low, low_ok, high = RANGES[name]
        ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        if not (ok and math.isfinite(value) and (value >= low if low_ok else value > low)
                and value < high):
            interval = f"{'[' if low_ok else '('}{low}, {high})"
            raise InputError(f"{name} must be a number in {interval}; got {value!r}")


def check_grads(params, grads):
    """Raise InputError unless grads has exactly the keys of params, each of the same shape."""
    if grads.keys() != params.keys():
        missing, extra = sorted(params.keys() - grads.keys()), sorted(grads.keys() - params.keys())
        raise InputError(f"grads must have the keys of params: missing {missing}, unexpected "
                         f"{extra}. Pass model.grads after model.backward().")
    for k, p in params.items():
        g = grads[k]
        if getattr(g, "shape", None) != p.shape:
            raise InputError(f"the gradient of {k!r} has shape {getattr(g, 'shape', type(g).__name__)} "
                             f"but the parameter has shape {p.shape}; they must match exactly.")
