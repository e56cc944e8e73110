import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from minivae import Dense, Sequential, glorot, he, mlp, numerical_gradient
from kinks import kink_margin
from minivae.layers import uniform

seeds = st.integers(0, 2**32 - 1)


@given(n=st.integers(1, 5), d_in=st.integers(1, 6), d_out=st.integers(1, 6), seed=seeds)
def test_dense_backward_matches_finite_differences(n, d_in, d_out, seed):
    rng = np.random.default_rng(seed)
    layer = Dense(d_in, d_out, rng, dtype=np.float64)
    layer.params["b"][...] = rng.standard_normal(d_out)
    x, dy = rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))
    loss = lambda: np.sum(layer.forward(x) * dy)   # dLoss/dy == dy exactly

    layer.forward(x)
    dx = layer.backward(dy)

    assert_allclose(dx, numerical_gradient(loss, x), rtol=1e-6, atol=1e-9)
    for name, p in layer.params.items():
        assert_allclose(layer.grads[name], numerical_gradient(loss, p), rtol=1e-6, atol=1e-9)


@given(n=st.integers(1, 4), seed=seeds, activation=st.sampled_from(["relu", "tanh", "sigmoid", "leaky_relu"]))
def test_mlp_backward_matches_finite_differences(n, seed, activation):
    rng = np.random.default_rng(seed)
    net = mlp([4, 5, 3, 2], rng, activation=activation, dtype=np.float64)
    for p in net.params.values():   # nonzero biases: no ReLU input sits exactly on its kink at 0
        p += 0.1 * rng.standard_normal(p.shape)
    x, dy = rng.standard_normal((n, 4)), rng.standard_normal((n, 2))
    assume(kink_margin(net, x) > 1e-3)        # no ReLU input within a step of its kink
    loss = lambda: np.sum(net.forward(x) * dy)

    net.forward(x)
    dx = net.backward(dy)

    assert_allclose(dx, numerical_gradient(loss, x), rtol=1e-6, atol=1e-9)
    for name, p in net.params.items():
        assert_allclose(net.grads[name], numerical_gradient(loss, p), rtol=1e-6, atol=1e-9)


def test_backward_without_dx_fills_the_same_parameter_gradients():
    rng = np.random.default_rng(0)
    net = mlp([3, 4, 2], rng, dtype=np.float64)
    x, dy = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    net.forward(x)
    net.backward(dy)
    full = {k: g.copy() for k, g in net.grads.items()}
    net.forward(x)
    assert net.backward(dy, need_dx=False) is None
    for k in full:
        assert_allclose(net.grads[k], full[k], rtol=0, atol=0)


def test_sequential_params_share_memory_with_layers():
    rng = np.random.default_rng(0)
    net = mlp([3, 4, 2], rng)
    net.params["0.W"][0, 0] = 123.0
    assert net.layers[0].params["W"][0, 0] == 123.0
    assert set(net.params) == set(net.grads) == {"0.W", "0.b", "2.W", "2.b"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_are_type_stable(dtype):
    rng = np.random.default_rng(0)
    net = mlp([6, 5, 4], rng, activation="tanh", dtype=dtype)
    y = net.forward(rng.standard_normal((3, 6)).astype(dtype))
    dx = net.backward(np.ones_like(y))
    assert y.dtype == dtype and dx.dtype == dtype
    assert all(g.dtype == dtype for g in net.grads.values())


def test_initialisations_have_the_intended_variance():
    rng = np.random.default_rng(0)
    d_in, d_out = 400, 300
    assert_allclose(glorot(rng, d_in, d_out).var(), 2 / (d_in + d_out), rtol=0.02)
    assert_allclose(he(rng, d_in, d_out).var(), 2 / d_in, rtol=0.02)
    assert_allclose(uniform(rng, d_in, d_out).var(), 1 / (3 * d_in), rtol=0.02)
    w = glorot(rng, d_in, d_out)
    assert np.abs(w).max() <= np.sqrt(6 / (d_in + d_out))


def test_unknown_activation_or_init_is_a_clear_error():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="activation must be one of"):
        mlp([2, 2], rng, activation="swish")
    with pytest.raises(ValueError, match="init must be one of"):
        Dense(2, 2, rng, init="zeros")
