import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from minivae import Adam, Autoencoder
from minivae.gradcheck import assert_model_gradients_match
from minivae.datasets import load_dataset
from minivae.errors import InputError


@pytest.mark.parametrize("likelihood", ["mse", "bernoulli"])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 3))
def test_whole_autoencoder_backward_matches_finite_differences(likelihood, seed, n):
    rng = np.random.default_rng(seed)
    ae = Autoencoder(5, hidden=[4], latent_dim=2, likelihood=likelihood, activation="tanh",
                     rng=rng, dtype=np.float64)
    x = rng.random((n, 5))
    assert_model_gradients_match(ae, x, lambda: ae.loss(x).loss)


def test_autoencoder_loss_is_the_quadratic_loss_of_eq_2():
    rng = np.random.default_rng(0)
    ae = Autoencoder(6, hidden=[5], latent_dim=2, rng=rng, dtype=np.float64)
    x = rng.random((4, 6))
    parts = ae.loss(x)
    x_hat = ae.reconstruct(x)
    assert_allclose(parts.loss, np.mean(np.sum((x - x_hat) ** 2, axis=1)), rtol=1e-12)
    assert parts.kl == 0.0 and parts.reconstruction == parts.loss


def _train(seed, steps=300):
    rng = np.random.default_rng(seed)
    x = load_dataset("mnist-subset").x_train[:64]          # a small batch of real digits
    ae = Autoencoder(784, hidden=[64], latent_dim=4, rng=rng)
    opt = Adam(ae.params, lr=3e-3)
    losses = [ae.loss(x).loss]
    for _ in range(steps):
        ae.loss(x)
        ae.backward()
        opt.step(ae.grads)
    losses.append(ae.loss(x).loss)
    return losses


def test_training_reduces_the_reconstruction_error_and_is_reproducible():
    a, b = _train(5), _train(5)
    assert a == b
    assert a[-1] < 0.5 * a[0]


def test_autoencoder_rejects_bad_input_and_settings():
    ae = Autoencoder(8, hidden=[6], latent_dim=2, likelihood="bernoulli")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ae.loss(np.full((2, 8), 2.0))
    with pytest.raises(ValueError, match="shape"):
        ae.loss(np.zeros((2, 9)))
    with pytest.raises(ValueError, match="likelihood"):
        Autoencoder(8, likelihood="gaussian-learned")


def test_targets_outside_the_unit_interval_name_the_autoencoders_own_real_valued_loss():
    ae = Autoencoder(4, [3], 2, likelihood="bernoulli")
    with pytest.raises(InputError, match=r"1\.5.*'mse' \(Autoencoder\)"):
        ae.loss(np.full((2, 4), 1.5))
