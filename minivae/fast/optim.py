r"""FastAdam: optim.Adam's steps, plus one rewrite that does not change the math: every
FLUSH_EVERY steps, entries of m smaller than TINY are set to exact zeros (see flush_tiny),
which keeps m out of float32's slow subnormal numbers and moves no parameter. What it buys
is measured in benchmarks/README.md and its equality to optim.Adam is tested. The command
line's training uses it (and checkpoints saved with "fused": true resume with it).
"""

import numpy as np

from ..optim import Adam

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
    """optim.Adam, same arguments, state (t, m, v) and steps, with m flushed every FLUSH_EVERY steps."""

    def step(self, grads):
        """Update every array in self.params in place using grads (same keys and shapes)."""
        super().step(grads)
        if self.t % FLUSH_EVERY == 0:
            for m in self.m.values():
                flush_tiny(m)
