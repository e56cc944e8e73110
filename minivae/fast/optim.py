r"""FastAdam: optim.Adam with the bias corrections folded into two scalars. Same update; what
it buys is measured in benchmarks/README.md and its equality to optim.Adam is tested. The
command line's training uses it (and checkpoints saved with "fused": true resume with it).

Two rewrites of optim.Adam, neither of which changes the math:

1. The bias corrections move into two scalars (Kingma & Ba, end of Section 2):
       p <- p - lr_t m / ( sqrt(v) + eps_t ),
       lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t),   eps_t = eps sqrt(1 - beta2^t),
   which needs no m_hat or v_hat arrays and two fewer passes, one scratch array instead of
   two. Like optim.Adam, every pass writes into an array made once (out=), and the scalars
   are Python floats, so float32 arrays stay float32 loops.
2. Every FLUSH_EVERY steps, entries of m smaller than TINY are set to exact zeros (see
   flush_tiny): it keeps m out of float32's slow subnormal numbers and moves no parameter.
"""
import math

import numpy as np

from ..optim import Adam, check_grads

TINY, FLUSH_EVERY = 1e-30, 100


def flush_tiny(a):
    r"""Set the entries of a with |a| < TINY to exact zeros, in place.

    Where a gradient is 0 for long stretches (pixels almost never on, rarely active ReLUs),
    m <- beta1 m decays until it reaches float32's subnormal numbers (below 1.2e-38), on
    which arithmetic is much slower. An entry below 1e-30 needs ~175 more steps of decay to
    become subnormal, so flushing every 100 steps keeps every entry normal. Such an m moves
    its parameter by at most lr_t 1e-30 / eps_t (1e-25 with the default lr and eps), below
    the float32 spacing of any parameter that is not itself smaller than ~1e-18.
    """
    np.putmask(a, np.abs(a) < TINY, 0)


class FastAdam(Adam):
    """optim.Adam, same arguments, state (t, m, v) and update, in fused in-place passes."""

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(params, lr, beta1, beta2, eps)
        self._tmp = self._a                          # optim.Adam's scratch, reused (its _b is unused)

    def step(self, grads):
        """Update every array in self.params in place using grads (same keys and shapes)."""
        check_grads(self.params, grads)
        self.t += 1
        b1, b2 = float(self.beta1), float(self.beta2)
        lr_t = float(self.lr) * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        eps_t = float(self.eps) * math.sqrt(1 - b2**self.t)
        for k, p in self.params.items():
            g, m, v, tmp = grads[k], self.m[k], self.v[k], self._tmp[k]
            m *= b1                                  # m <- b1 m + (1 - b1) g
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp
            np.multiply(g, g, out=tmp)               # v <- b2 v + (1 - b2) g^2
            tmp *= 1 - b2
            v *= b2
            v += tmp
            np.sqrt(v, out=tmp)                      # p <- p - lr_t m / (sqrt(v) + eps_t)
            tmp += eps_t
            np.divide(m, tmp, out=tmp)
            tmp *= lr_t
            p -= tmp
        if self.t % FLUSH_EVERY == 0:
            for m in self.m.values():
                flush_tiny(m)
