r"""Optimizers: they update a model's ``params`` in place from its ``grads``.

Both take the model's params dict at construction (to size their state) and the grads
dict at each step. They work in place on preallocated buffers: Adam over two 784x400
matrices allocating fresh temporaries every step costs more than all the matrix products
of a step, so every operation below writes into ``out=`` arrays.
"""
import math

import numpy as np

TINY, FLUSH_EVERY = 1e-30, 100


def flush_tiny(a):
    r"""Set the entries of a with |a| < TINY to exact zeros, in place.

    Why Adam needs it: where a gradient is 0 for long stretches (weights of pixels that are
    almost never on, rarely active ReLUs), m <- beta1 m shrinks by 0.9 a step until it
    reaches float32's subnormal numbers (below 1.2e-38), on which the CPU's arithmetic is
    ~100x slower: on MNIST, Adam's step took twice as long by the fourth epoch. An entry
    below 1e-30 needs ~175 more steps of decay to become subnormal, so flushing every 100
    steps keeps every entry normal. It changes nothing else: such an m moves its parameter
    by at most lr_t 1e-30 / eps_t (1e-25 with the default lr and eps), far below the
    float32 spacing of any parameter that is not itself smaller than ~1e-18.
    """
    np.putmask(a, np.abs(a) < TINY, 0)


class SGD:
    r"""Stochastic gradient descent with optional (heavy-ball) momentum.

    v <- momentum v + g          (v = g when momentum = 0)
    p <- p - lr v
    """

    def __init__(self, params, lr=1e-2, momentum=0.0):
        self.params, self.lr, self.momentum = params, lr, momentum
        self.velocity = {k: np.zeros_like(p) for k, p in params.items()}
        self._tmp = {k: np.empty_like(p) for k, p in params.items()}   # scratch, reused

    def step(self, grads):
        """Update every array in self.params in place using grads (same keys and shapes)."""
        for k, p in self.params.items():
            v, tmp = self.velocity[k], self._tmp[k]
            v *= self.momentum
            v += grads[k]
            np.multiply(v, self.lr, out=tmp)
            p -= tmp


class Adam:
    r"""Adam (Kingma & Ba 2015, Algorithm 1) with bias correction.

        t <- t + 1
        m <- beta1 m + (1 - beta1) g                 first moment
        v <- beta2 v + (1 - beta2) g^2               second (raw) moment
        m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)
        p <- p - lr m_hat / ( sqrt(v_hat) + eps )

    Computed in the equivalent form from the end of the paper's Section 2,
        p <- p - lr_t m / ( sqrt(v) + eps_t ),
        lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t),   eps_t = eps sqrt(1 - beta2^t),
    which is algebraically identical to the lines above (and to PyTorch's Adam) but
    needs no m_hat or v_hat arrays.

    Every FLUSH_EVERY steps, entries of m below TINY in size are set to exact zeros: a
    speed fix that leaves the parameters unchanged (see flush_tiny).
    """

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.params, self.lr, self.beta1, self.beta2, self.eps = params, lr, beta1, beta2, eps
        self.t = 0
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self._tmp = {k: np.empty_like(p) for k, p in params.items()}   # scratch, reused

    def step(self, grads):
        """Update every array in self.params in place using grads (same keys and shapes)."""
        self.t += 1
        # Python floats on purpose: with a numpy float64 scalar, numpy 2 runs `tmp *= lr_t`
        # on float32 arrays as a float64 loop with casts, several times slower a pass
        # (it was a third of this step's time).
        b1, b2 = float(self.beta1), float(self.beta2)
        lr_t = float(self.lr) * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        eps_t = float(self.eps) * math.sqrt(1 - b2**self.t)
        for k, p in self.params.items():
            g, m, v, tmp = grads[k], self.m[k], self.v[k], self._tmp[k]
            # m <- b1 m + (1 - b1) g
            m *= b1
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp
            # v <- b2 v + (1 - b2) g^2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v *= b2
            v += tmp
            # p <- p - lr_t m / (sqrt(v) + eps_t)
            np.sqrt(v, out=tmp)
            tmp += eps_t
            np.divide(m, tmp, out=tmp)
            tmp *= lr_t
            p -= tmp
        if self.t % FLUSH_EVERY == 0:
            for m in self.m.values():
                flush_tiny(m)
