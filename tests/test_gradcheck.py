import numpy as np
import pytest
from numpy.testing import assert_allclose

from minivae import VAE, numerical_gradient
from minivae.gradcheck import assert_model_gradients_match


def test_numerical_gradient_of_a_cubic_is_exact_to_truncation_error():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    A = rng.standard_normal((3, 4))
    f = lambda: np.sum(A * x**3)
    # central differences: error = h^2/6 f''' = h^2 A -> 1e-10 relative
    assert_allclose(numerical_gradient(f, x), 3 * A * x**2, rtol=1e-8, atol=1e-9)


def test_numerical_gradient_restores_its_input_and_refuses_float32():
    x = np.arange(4.0)
    before = x.copy()
    numerical_gradient(lambda: float(np.sum(x**2)), x)
    assert_allclose(x, before, rtol=0, atol=0)
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda: 0.0, np.zeros(3, np.float32))


def test_whole_model_check_catches_a_wrong_gradient():
    rng = np.random.default_rng(0)
    vae = VAE(5, hidden=[4], latent_dim=2, activation="tanh", rng=rng, dtype=np.float64)
    x, eps = rng.random((2, 5)), rng.standard_normal((2, 2))
    loss = lambda: vae.loss(x, eps=eps).loss
    assert_model_gradients_match(vae, x, loss)             # the real backward passes

    backward = vae.backward

    def off_by_a_bit(need_dx=False):
        dx = backward(need_dx)
        vae.grads["decoder.0.b"] *= 1.001                  # a 0.1% error in one bias gradient
        return dx

    vae.backward = off_by_a_bit
    with pytest.raises(AssertionError, match="decoder.0.b"):
        assert_model_gradients_match(vae, x, loss)
