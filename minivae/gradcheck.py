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


def assert_model_gradients_match(model, x, loss, rtol=1e-6, atol=1e-8):
    r"""Check a whole model's backward pass against central differences; raise if they differ.

    model : a VAE or Autoencoder built with dtype=np.float64
    x : ndarray of shape (N, D), float64, the input loss() reads
    loss : callable () -> float running model.loss on x with the noise held fixed, e.g.
           ``lambda: vae.loss(x, eps=eps).loss``

    Runs loss() and model.backward(need_dx=True), then compares dx and every entry of
    model.grads with numerical_gradient. Central differences carry an absolute round-off of
    about 1e-16 |loss| / h, so the absolute tolerance grows with the array's largest entry:
    atol * (1 + max |gradient|).
    """
    from numpy.testing import assert_allclose

    loss()
    dx = model.backward(need_dx=True)
    analytic = {"x": dx, **{name: g.copy() for name, g in model.grads.items()}}
    arrays = {"x": x, **model.params}
    for name, a in arrays.items():
        numeric = numerical_gradient(loss, a)
        assert_allclose(analytic[name], numeric, rtol=rtol, atol=atol * (1 + np.abs(numeric).max()),
                        err_msg=f"gradient with respect to {name}")
