import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from minivae import LeakyReLU, ReLU, Sigmoid, Tanh, numerical_gradient

ACTIVATIONS = [ReLU, LeakyReLU, Tanh, Sigmoid]


def _away_from_kinks(x):
    """Finite differences are wrong within h of ReLU's kink at 0; move entries off it."""
    return np.where(np.abs(x) < 1e-3, 0.5, x)


@pytest.mark.parametrize("cls", ACTIVATIONS)
@given(n=st.integers(1, 4), d=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_activation_backward_matches_finite_differences(cls, n, d, seed):
    rng = np.random.default_rng(seed)
    layer = cls()
    x, dy = _away_from_kinks(2 * rng.standard_normal((n, d))), rng.standard_normal((n, d))
    loss = lambda: np.sum(layer.forward(x) * dy)
    layer.forward(x)
    dx = layer.backward(dy)
    assert_allclose(dx, numerical_gradient(loss, x), rtol=1e-6, atol=1e-8)


def test_activations_compute_their_definitions():
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    assert_allclose(ReLU().forward(x), [[0, 0, 0, 0.5, 2]])
    assert_allclose(LeakyReLU(0.1).forward(x), [[-0.2, -0.05, 0, 0.5, 2]])
    assert_allclose(Tanh().forward(x), np.tanh(x))
    assert_allclose(Sigmoid().forward(x), 1 / (1 + np.exp(-x)))


def test_sigmoid_saturates_without_overflow():
    with np.errstate(all="raise"):
        y = Sigmoid().forward(np.array([[-1000.0, 1000.0]]))
    assert_allclose(y, [[0.0, 1.0]])
