r"""Central finite differences: the referee for every hand-derived backward pass.

    df/dx_i  ~=  ( f(x + h e_i) - f(x - h e_i) ) / (2 h)          error O(h^2)

Used by the tests and by notebook 5. Run it in float64: in float32 the round-off in
f (about 1e-7 |f|) divided by 2h swamps the O(h^2) truncation error.
"""
import numpy as np


def numerical_gradient(f, x, h=1e-5):
    r"""Gradient of the scalar function f() with respect to the array x, by central differences.

    f : callable taking no arguments and returning a float; it must read x (which is
        perturbed in place, one entry at a time, and restored afterwards).
    x : ndarray of any shape, float64.
    h : step size. 1e-5 balances the O(h^2) truncation error against the round-off
        of about 1e-16 |f| / h (notebook 5 plots the trade-off).

    Returns grad : ndarray of the same shape as x.
    """
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient needs float64 to be accurate; got {x.dtype}. "
                        "Build the model with dtype=np.float64 for gradient checks.")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = f()
        x[i] = old - h
        f_minus = f()
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
