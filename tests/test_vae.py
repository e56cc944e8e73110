import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from minivae import VAE, Adam, Autoencoder
from minivae.errors import InputError
from minivae.losses import gaussian_nll_fixed
from kinks import model_kink_margin
from minivae.gradcheck import assert_model_gradients_match
from minivae.datasets import fixed_binarization, load_dataset

seeds = st.integers(0, 2**32 - 1)


def _data(likelihood, rng, n, d):
    if likelihood == "bernoulli":
        return rng.random((n, d))                 # grey values in [0, 1] are valid targets too
    return rng.standard_normal((n, d))


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian", "gaussian-learned"])
@given(seed=seeds, n=st.integers(1, 3), beta=st.floats(0.1, 2.0),
       activation=st.sampled_from(["tanh", "relu"]))
def test_whole_vae_backward_matches_finite_differences(likelihood, seed, n, beta, activation):
    rng = np.random.default_rng(seed)
    d, latent = 5, 2
    vae = VAE(d, hidden=[4, 3], latent_dim=latent, likelihood=likelihood, sigma=0.7,
              activation=activation, rng=rng, dtype=np.float64)
    for p in vae.params.values():               # nonzero biases: every term is exercised
        p += 0.1 * rng.standard_normal(p.shape)
    x, eps = _data(likelihood, rng, n, d), rng.standard_normal((n, latent))
    assume(model_kink_margin(vae, x, eps) > 1e-3)     # no ReLU input within a step of its kink
    assert_model_gradients_match(vae, x, lambda: vae.loss(x, eps=eps, beta=beta).loss)


def test_loss_is_reconstruction_plus_beta_times_kl():
    rng = np.random.default_rng(0)
    vae = VAE(6, hidden=[5], latent_dim=3, rng=rng, dtype=np.float64)
    x, eps = rng.random((4, 6)), rng.standard_normal((4, 3))
    parts = vae.loss(x, eps=eps, beta=0.3)
    assert_allclose(parts.loss, parts.reconstruction + 0.3 * parts.kl, rtol=1e-12)
    assert parts.kl > 0 and parts.reconstruction > 0
    assert vae.loss(x, eps=eps, beta=1.0).reconstruction == parts.reconstruction


def test_vae_is_float32_by_default_and_casts_its_input():
    vae = VAE(8, hidden=[6], latent_dim=2)
    rng = np.random.default_rng(0)
    vae.loss(rng.random((3, 8)), rng=rng)        # float64 data in
    vae.backward()
    assert all(g.dtype == np.float32 for g in vae.grads.values())
    assert vae.sample(5, rng).dtype == np.float32
    assert vae.reconstruct(rng.random((2, 8))).shape == (2, 8)


def test_params_and_grads_have_the_same_keys_and_shapes():
    vae = VAE(8, hidden=[6, 4], latent_dim=2, likelihood="gaussian-learned")
    assert vae.params.keys() == vae.grads.keys()
    assert all(vae.params[k].shape == vae.grads[k].shape for k in vae.params)
    assert vae.params["decoder.4.W"].shape == (6, 16)    # means and log-variances


def _train(seed, steps=300):
    """A few hundred Adam steps on one small batch of real MNIST digits (the embedded subset)."""
    rng = np.random.default_rng(seed)
    x = fixed_binarization(load_dataset("mnist-subset").x_train[:64], seed=0)
    vae = VAE(784, hidden=[64], latent_dim=4, rng=rng)
    opt = Adam(vae.params, lr=3e-3)
    losses = []
    for _ in range(steps):
        losses.append(vae.loss(x, rng=rng).loss)
        vae.backward()
        opt.step(vae.grads)
    return np.array(losses)


def test_training_reduces_the_negative_elbo_and_is_reproducible():
    a, b = _train(seed=3), _train(seed=3)
    assert_allclose(a, b, rtol=0, atol=0)
    assert a[-20:].mean() < 0.6 * a[:20].mean()


@pytest.mark.parametrize("bad, match", [
    (np.zeros((4, 7)), r"shape \(N, 8\)"),
    (np.zeros(8), r"shape \(N, 8\)"),
    (np.full((4, 8), np.nan), "NaN or Inf"),
    (np.full((4, 8), np.inf), "NaN or Inf"),
    (np.full((4, 8), 255.0), r"\[0, 1\].*x / 255"),
    (np.full((4, 8), -0.5), r"\[0, 1\]"),
    (np.zeros((0, 8)), "empty"),
])
def test_bad_input_is_a_clear_error(bad, match):
    vae = VAE(8, hidden=[6], latent_dim=2)
    with pytest.raises(ValueError, match=match):
        vae.loss(bad, rng=np.random.default_rng(0))


def test_gaussian_decoders_accept_real_valued_data_but_reject_bad_settings():
    rng = np.random.default_rng(0)
    VAE(8, hidden=[6], latent_dim=2, likelihood="gaussian").loss(5 * rng.standard_normal((3, 8)), rng=rng)
    with pytest.raises(ValueError, match="likelihood must be one of"):
        VAE(8, likelihood="poisson")


# -- the model's own input checks (issue 13) ------------------------------------------------
def test_backward_before_any_loss_is_a_clear_error():
    for model in (VAE(8, [6], 2), Autoencoder(8, [6], 2)):
        with pytest.raises(InputError, match=r"call loss\(x"):
            model.backward()


def test_a_float64_eps_is_cast_and_leaves_a_float32_model_float32():
    rng = np.random.default_rng(0)
    vae = VAE(8, [6], 2, rng=rng)
    x = (rng.random((3, 8)) < 0.5).astype(np.float32)
    eps = rng.standard_normal((3, 2))                              # float64
    parts = vae.loss(x, eps=eps)
    vae.backward()
    assert parts == vae.loss(x, eps=eps.astype(np.float32))         # the same numbers
    assert all(g.dtype == np.float32 for g in vae.grads.values())
    assert vae.sampler._eps.dtype == np.float32


@pytest.mark.parametrize("bad, match", [
    (np.array([[0.0, np.nan]] * 3), "eps holds 3 NaN or Inf"),
    (np.zeros((3, 3)), r"eps must have shape \(N, 2\)"),
    (np.zeros((2, 2)), r"eps must have the shape of mu \(3, 2\)"),
])
def test_bad_eps_is_a_clear_error(bad, match):
    vae = VAE(8, [6], 2)
    with pytest.raises(InputError, match=match):
        vae.loss(np.zeros((3, 8)), eps=bad)


def test_loss_without_rng_or_eps_names_what_to_pass():
    with pytest.raises(InputError, match="rng=np.random.default_rng"):
        VAE(8, [6], 2).loss(np.zeros((3, 8)))


@pytest.mark.parametrize("dtype", [np.int32, np.float16, np.complex64, "object", "float31"])
def test_only_float32_and_float64_models_can_be_built(dtype):
    for model in (VAE, Autoencoder):
        with pytest.raises(InputError, match="dtype must be one of"):
            model(8, [6], 2, dtype=dtype)


@pytest.mark.parametrize("option, match", [
    (dict(hidden=[1_000_000]), "parameters .* would need .* GiB of memory but"),
    (dict(latent_dim=100_000_000), "would need .* GiB"),
    (dict(d_in=-3), "d_in must be a whole number >= 1"),
    (dict(latent_dim=0), "latent_dim must be a whole number >= 1"),
    (dict(hidden=[4, 2.5]), "each hidden size must be a whole number"),
    (dict(arch="rnn"), "arch must be one of"),
    (dict(activation="gelu"), "activation must be one of"),
])
def test_impossible_sizes_and_options_are_refused_before_anything_is_allocated(option, match):
    import tracemalloc
    args = dict(d_in=784, hidden=[8], latent_dim=2, rng=np.random.default_rng(0)) | option
    tracemalloc.start()
    try:
        for model in (VAE, Autoencoder):
            with pytest.raises(InputError, match=match):
                model(**args)
        assert tracemalloc.get_traced_memory()[1] < 2**20             # refused before allocating
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("arch, extra", [("mlp", dict(hidden=[7, 5])),
                                         ("conv", dict(image_shape=(2, 8, 12), channels=(3, 4)))])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian-learned"])
def test_the_memory_check_counts_exactly_the_parameters_the_model_gets(arch, extra, likelihood,
                                                                       monkeypatch):
    import minivae.networks
    asked = []
    monkeypatch.setattr(minivae.networks, "check_fits", lambda nbytes, *_: asked.append(nbytes))
    vae = VAE(192, latent_dim=3, arch=arch, likelihood=likelihood, **extra)
    assert asked == [5 * sum(p.nbytes for p in vae.params.values())]


def test_a_float32_model_is_initialised_without_a_float64_copy_of_its_weights():
    import tracemalloc
    tracemalloc.start()
    vae = VAE(50, hidden=[40_000], latent_dim=2, rng=np.random.default_rng(0))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    weights = sum(p.nbytes for p in vae.params.values())              # float32: 16 MB
    assert peak < 2 * weights + 2**21           # params and grads, plus one 512 kB block of draws


def test_blockwise_initial_weights_equal_one_draw_of_the_whole_matrix():
    from minivae.layers import glorot, he, uniform
    for init, reference in [(glorot, lambda r, a: r.uniform(-a, a, (300, 500))),
                            (uniform, lambda r, a: r.uniform(-a, a, (300, 500))),
                            (he, lambda r, a: r.standard_normal((300, 500)) * np.sqrt(2 / 300))]:
        a = np.sqrt(6 / 800) if init is glorot else 1 / np.sqrt(300)
        expected = reference(np.random.default_rng(5), a).astype(np.float32)
        assert_allclose(init(np.random.default_rng(5), 300, 500), expected, rtol=0, atol=0)


@pytest.mark.parametrize("sigma", [1e308, 1e-30, 0.0, -1.0, float("nan"), float("inf"), "0.1", True])
def test_a_gaussian_sigma_outside_the_usable_range_is_refused_without_warnings(sigma):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                               # a RuntimeWarning would fail
        with pytest.raises(InputError, match=r"sigma .* must be a number in \[1e-06, 1e\+06\]"):
            VAE(8, [6], 2, likelihood="gaussian", sigma=sigma)
        with pytest.raises(InputError, match="sigma"):
            gaussian_nll_fixed(np.zeros((2, 3)), np.ones((2, 3)), sigma)


def test_a_bernoulli_target_just_above_one_is_refused_with_its_real_value_printed():
    x = np.full((2, 8), 0.5, np.float32)
    x[0, 3] = np.float32(1 + 1e-7)                                   # 1.0000001192092896
    with pytest.raises(InputError, match=r"from 0\.5 to 1\.0000001192092896.*np\.clip"):
        VAE(8, [6], 2).loss(x, rng=np.random.default_rng(0))


def test_the_autoencoders_quadratic_loss_is_called_mse_and_gaussian_is_the_vaes():
    with pytest.raises(InputError, match="quadratic loss \\(Eq. 2\\) is 'mse'"):
        Autoencoder(8, [6], 2, likelihood="gaussian")
    with pytest.raises(InputError, match="fixed-sigma Gaussian decoder is 'gaussian'"):
        VAE(8, [6], 2, likelihood="mse")


def test_sample_decodes_in_batches_the_same_pictures_as_one_batch():
    vae = VAE(8, [6], 3, rng=np.random.default_rng(0))
    whole = vae.generate(np.random.default_rng(1).standard_normal((10, 3)))
    assert_allclose(vae.sample(10, np.random.default_rng(1), batch_size=4), whole, rtol=0, atol=0)
    with pytest.raises(InputError, match="would need .* GiB"):
        vae.sample(10**12, np.random.default_rng(1))


@pytest.mark.parametrize("beta", [-1.0, float("nan"), float("inf"), "1", None])
def test_a_kl_weight_that_is_not_a_finite_non_negative_number_is_refused(beta):
    with pytest.raises(InputError, match="beta .* must be a finite number >= 0"):
        VAE(8, [6], 2).loss(np.zeros((3, 8)), rng=np.random.default_rng(0), beta=beta)
