import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from kinks import model_kink_margin
from minivae.gradcheck import assert_model_gradients_match
from minivae import VAE, Autoencoder, numerical_gradient
from minivae.conv import Conv2D, Flatten, MaxPool2D, Reshape, Upsample2D, conv2d_loops, fold, unfold
from minivae.errors import InputError
from minivae.fast.conv import GatherConv2D, spread_shifted, sum_shifted
from minivae.networks import conv_decoder, conv_encoder

seeds = st.integers(0, 2**32 - 1)


def assert_gradients_match_finite_differences(layer, x, rng):
    """dx and every grad of layer against central differences of sum(forward(x) * dy)."""
    dy = rng.standard_normal(layer.forward(x).shape)
    loss = lambda: np.sum(layer.forward(x) * dy)   # dLoss/dy == dy exactly

    layer.forward(x)
    dx = layer.backward(dy)

    assert dx.shape == x.shape
    assert_allclose(dx, numerical_gradient(loss, x), rtol=1e-6, atol=1e-9, err_msg="x")
    for name, p in layer.params.items():
        assert_allclose(layer.grads[name], numerical_gradient(loss, p), rtol=1e-6, atol=1e-9,
                        err_msg=name)


# -- references: the definitions, written as explicit loops ---------------------------------
def max_pool_loops(x, dy, size, stride):
    """y and dx, with each window's gradient going to its first arg-max in row-major order."""
    n, c, h, w = x.shape
    h_out, w_out = (h - size) // stride + 1, (w - size) // stride + 1
    y, dx = np.zeros((n, c, h_out, w_out)), np.zeros_like(x)
    for e in range(n):
        for ch in range(c):
            for r in range(h_out):
                for t in range(w_out):
                    window = x[e, ch, r * stride:r * stride + size, t * stride:t * stride + size]
                    i, j = np.unravel_index(np.argmax(window), window.shape)   # first maximum
                    y[e, ch, r, t] = window[i, j]
                    dx[e, ch, r * stride + i, t * stride + j] += dy[e, ch, r, t]
    return y, dx


@st.composite
def conv_shapes(draw, max_kernel=3, max_stride=3, max_padding=2):
    """(n, c_in, c_out, (kh, kw), stride, padding, h, w) with an output of at least 1x1."""
    kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    stride, padding = draw(st.integers(1, max_stride)), draw(st.integers(0, max_padding))
    h = draw(st.integers(max(1, kh - 2 * padding), max(1, kh - 2 * padding) + 4))
    w = draw(st.integers(max(1, kw - 2 * padding), max(1, kw - 2 * padding) + 4))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3)),
            (kh, kw), stride, padding, h, w)


conv_classes = st.sampled_from([Conv2D, GatherConv2D])     # one layer, computed in two orders


# -- Conv2D -----------------------------------------------------------------------------------
@given(shapes=conv_shapes(), cls=conv_classes, seed=seeds)
def test_conv2d_backward_matches_finite_differences(shapes, cls, seed):
    n, c_in, c_out, k, stride, padding, h, w = shapes
    rng = np.random.default_rng(seed)
    layer = cls(c_in, c_out, k, rng, stride=stride, padding=padding, dtype=np.float64)
    layer.params["b"][...] = rng.standard_normal(c_out)
    assert_gradients_match_finite_differences(layer, rng.standard_normal((n, c_in, h, w)), rng)


@given(shapes=conv_shapes(), cls=conv_classes, seed=seeds)
def test_conv2d_forward_matches_the_direct_sum(shapes, cls, seed):
    n, c_in, c_out, k, stride, padding, h, w = shapes
    rng = np.random.default_rng(seed)
    layer = cls(c_in, c_out, k, rng, stride=stride, padding=padding, dtype=np.float64)
    layer.params["b"][...] = rng.standard_normal(c_out)
    x = rng.standard_normal((n, c_in, h, w))
    expected = conv2d_loops(x, layer.params["W"], layer.params["b"], stride, padding)
    assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


@given(shapes=conv_shapes(), seed=seeds)
def test_gather_conv2d_is_conv2d_with_the_same_weights_output_and_gradients(shapes, seed):
    n, c_in, c_out, k, stride, padding, h, w = shapes
    plain = Conv2D(c_in, c_out, k, np.random.default_rng(seed), stride=stride, padding=padding,
                   dtype=np.float64)
    fast = GatherConv2D(c_in, c_out, k, np.random.default_rng(seed), stride=stride,
                        padding=padding, dtype=np.float64)
    assert_allclose(fast.params["W"], plain.params["W"], rtol=0, atol=0)   # same random draws
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((n, c_in, h, w))
    y = plain.forward(x)
    assert_allclose(fast.forward(x), y, rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    assert_allclose(fast.backward(dy), plain.backward(dy), rtol=1e-12, atol=1e-12)
    for name in plain.grads:
        assert_allclose(fast.grads[name], plain.grads[name], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", [Conv2D, GatherConv2D])
def test_conv2d_backward_without_dx_fills_the_same_gradients(cls):
    rng = np.random.default_rng(1)
    layer = cls(3, 2, 3, rng, stride=2, padding=1, dtype=np.float64)
    x = rng.standard_normal((2, 3, 7, 6))
    dy = rng.standard_normal(layer.forward(x).shape)
    layer.backward(dy)
    full = {k: g.copy() for k, g in layer.grads.items()}
    layer.forward(x)
    assert layer.backward(dy, need_dx=False) is None
    for k in full:
        assert_allclose(layer.grads[k], full[k], rtol=0, atol=0)


def test_conv2d_he_initialisation_has_variance_two_over_fan_in():
    layer = Conv2D(64, 64, 3, np.random.default_rng(0))
    assert layer.params["W"].shape == (64, 64, 3, 3) and not layer.params["b"].any()
    assert abs(layer.params["W"].var() * 64 * 9 / 2 - 1) < 0.03


# -- im2col and its adjoints ------------------------------------------------------------------
@given(shapes=conv_shapes(), seed=seeds)
def test_fold_is_the_adjoint_of_unfold_and_spread_of_sum(shapes, seed):
    n, c, _, (kh, kw), stride, padding, h, w = shapes
    rng = np.random.default_rng(seed)
    hp, wp = h + 2 * padding, w + 2 * padding
    h_out, w_out = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    a = rng.standard_normal((c, n, hp, wp))
    cols = rng.standard_normal((c * kh * kw, n * h_out * w_out))
    # <unfold(a), cols> = <a, fold(cols)>. The sums may cancel to near 0, so the tolerance is
    # round-off on the size of the terms summed, not relative to the result.
    terms = unfold(a, kh, kw, stride, h_out, w_out) * cols
    assert_allclose(np.sum(terms), np.sum(a * fold(cols, a.shape, kh, kw, stride, h_out, w_out)),
                    rtol=1e-12, atol=1e-13 * np.sum(np.abs(terms)))

    z, dy = rng.standard_normal((c, kh, kw, n, hp, wp)), rng.standard_normal((c, n, h_out, w_out))
    terms = sum_shifted(z, stride, h_out, w_out) * dy
    assert_allclose(np.sum(terms), np.sum(z * spread_shifted(dy, z.shape, stride)),
                    rtol=1e-12, atol=1e-13 * np.sum(np.abs(terms)))


# -- MaxPool2D --------------------------------------------------------------------------------
pool_shapes = st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 3), st.integers(1, 3))


@given(shape=pool_shapes, size=st.integers(1, 3), stride=st.integers(1, 3), extra=st.integers(0, 3),
       seed=seeds)
def test_max_pool_backward_matches_finite_differences(shape, size, stride, extra, seed):
    n, c, h_out, w_out = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, (h_out - 1) * stride + size + extra % 2,
                             (w_out - 1) * stride + size + extra // 2))   # ties have probability 0
    assert_gradients_match_finite_differences(MaxPool2D(size, stride), x, rng)


@given(shape=pool_shapes, size=st.integers(1, 3), stride=st.integers(1, 3),
       levels=st.integers(1, 3), seed=seeds)
def test_max_pool_routes_a_tied_gradient_to_the_first_maximum_only(shape, size, stride, levels,
                                                                   seed):
    n, c, h_out, w_out = shape
    rng = np.random.default_rng(seed)
    x = rng.integers(0, levels, (n, c, (h_out - 1) * stride + size,
                                 (w_out - 1) * stride + size)).astype(np.float64)   # many ties
    dy = rng.standard_normal((n, c, h_out, w_out))
    pool = MaxPool2D(size, stride)

    y = pool.forward(x)
    dx = pool.backward(dy)

    expected_y, expected_dx = max_pool_loops(x, dy, size, stride)
    assert_allclose(y, expected_y, rtol=0, atol=0)
    assert_allclose(dx, expected_dx, rtol=1e-15, atol=1e-15)


def test_max_pool_of_a_constant_picture_sends_each_gradient_to_the_window_corner():
    x = np.full((1, 2, 4, 6), 3.0)
    dy = np.arange(1.0, 13.0).reshape(1, 2, 2, 3)
    pool = MaxPool2D(2)
    pool.forward(x)
    dx = pool.backward(dy)
    assert_allclose(dx[:, :, ::2, ::2], dy, rtol=0, atol=0)
    assert np.count_nonzero(dx) == dy.size      # exactly one position per window


# -- Upsample2D, Flatten, Reshape -------------------------------------------------------------
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 4), w=st.integers(1, 4),
       scale=st.integers(1, 3), seed=seeds)
def test_upsample_copies_blocks_and_sums_their_gradients(n, c, h, w, scale, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    layer = Upsample2D(scale)
    assert_allclose(layer.forward(x), x.repeat(scale, axis=2).repeat(scale, axis=3), rtol=0, atol=0)
    assert_gradients_match_finite_differences(layer, x, rng)


def test_flatten_and_reshape_are_inverse_and_pass_gradients_through():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 4, 5))
    flatten, reshape = Flatten(), Reshape((2, 4, 5))
    flat = flatten.forward(x)
    assert flat.shape == (3, 40) and np.array_equal(flat, x.reshape(3, -1))
    assert np.array_equal(reshape.forward(flat), x)
    assert np.array_equal(flatten.backward(reshape.backward(x)), x)
    assert reshape.backward(x, need_dx=False) is None
    assert flatten.backward(flat, need_dx=False) is None
    with pytest.raises(ValueError, match=r"\(N, 40\)"):
        reshape.forward(np.zeros((3, 39)))


# -- dtypes and input checks ------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda rng: Conv2D(3, 4, 3, rng, padding=1),
    lambda rng: GatherConv2D(3, 2, 3, rng, stride=2),
    lambda rng: MaxPool2D(2),
    lambda rng: Upsample2D(2),
    lambda rng: Flatten(),
])
def test_layers_are_float32_in_float32_out(make):
    rng = np.random.default_rng(0)
    layer = make(rng)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(p.dtype == g.dtype == np.float32 for p, g in zip(layer.params.values(),
                                                                 layer.grads.values()))


def test_conv_layers_reject_bad_shapes_and_settings():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        Conv2D(3, 4, 3, rng).forward(np.zeros((2, 1, 5, 5)))
    with pytest.raises(ValueError, match="does not fit"):
        Conv2D(3, 4, 5, rng).forward(np.zeros((2, 3, 4, 4)))
    with pytest.raises(InputError, match="stride"):
        Conv2D(3, 4, 3, rng, stride=0)
    with pytest.raises(ValueError, match="stride"):
        MaxPool2D(2, stride=0)


# -- the conv encoder and decoder -------------------------------------------------------------
@pytest.mark.parametrize("image_shape", [(1, 28, 28), (1, 28, 20), (2, 8, 12)])
def test_conv_networks_map_flat_images_to_codes_and_back(image_shape):
    rng = np.random.default_rng(0)
    d = int(np.prod(image_shape))
    encoder = conv_encoder(image_shape, (3, 4), 6, rng)
    decoder = conv_decoder(5, image_shape, (4, 3), rng)
    x = rng.random((2, d)).astype(np.float32)
    h = encoder.forward(x)
    out = decoder.forward(h[:, :5])
    assert h.shape == (2, 6) and out.shape == (2, d)
    assert h.dtype == out.dtype == np.float32
    c, height, width = image_shape
    assert encoder.params["8.W"].shape == (4 * (height // 4) * (width // 4), 6)


@pytest.mark.parametrize("image_shape", [(1, 30, 30), (1, 28, 18), (3, 6, 8)])
def test_conv_networks_reject_images_that_do_not_pool_twice(image_shape):
    d = int(np.prod(image_shape))
    for model in (VAE, Autoencoder):
        with pytest.raises(InputError, match="divisible by 4"):
            model(d, arch="conv", image_shape=image_shape, channels=(2, 3), latent_dim=2)


def test_conv_networks_need_two_channel_counts_and_a_matching_image_shape():
    with pytest.raises(InputError, match="two numbers"):
        VAE(64, arch="conv", image_shape=(1, 8, 8), channels=(2, 3, 4), latent_dim=2)
    with pytest.raises(InputError, match="C\\*H\\*W == d_in == 64"):
        VAE(64, arch="conv", image_shape=(1, 8, 4), latent_dim=2)


# -- whole models -----------------------------------------------------------------------------
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian-learned"])
@settings(max_examples=8)
@given(seed=seeds, n=st.integers(1, 2))
def test_whole_conv_vae_backward_matches_finite_differences(likelihood, seed, n):
    rng = np.random.default_rng(seed)
    vae = VAE(64, arch="conv", image_shape=(1, 8, 8), channels=(2, 3), latent_dim=2,
              likelihood=likelihood, rng=rng, dtype=np.float64)
    for p in vae.params.values():               # nonzero biases: every term is exercised
        p += 0.1 * rng.standard_normal(p.shape)
    x = rng.uniform(0.05, 0.95, (n, 64))        # inside [0, 1] even when perturbed
    eps = rng.standard_normal((n, 2))
    c_out = 2 if likelihood == "gaussian-learned" else 1      # a mean and a log-variance per pixel
    assert vae.decoder.params["7.W"].shape == (c_out, 2, 3, 3)
    assume(model_kink_margin(vae, x, eps) > 1e-3)     # no ReLU input or max-pool near-tie within a step
    assert_model_gradients_match(vae, x, lambda: vae.loss(x, eps=eps).loss)


@pytest.mark.parametrize("likelihood", ["mse", "bernoulli"])
@settings(max_examples=5)
@given(seed=seeds)
def test_whole_conv_autoencoder_backward_matches_finite_differences(likelihood, seed):
    rng = np.random.default_rng(seed)
    ae = Autoencoder(32, arch="conv", image_shape=(1, 8, 4), channels=(2, 2), latent_dim=2,
                     likelihood=likelihood, activation="tanh", rng=rng, dtype=np.float64)
    x = rng.uniform(0.05, 0.95, (2, 32))
    assume(model_kink_margin(ae, x) > 1e-3)           # max-pool windows without near-ties
    assert_model_gradients_match(ae, x, lambda: ae.loss(x).loss)


def test_conv_vae_trains_in_float32_on_mnist_sized_images():
    rng = np.random.default_rng(0)
    vae = VAE(784, arch="conv", image_shape=(1, 28, 28), channels=(4, 8), latent_dim=3, rng=rng)
    x = (rng.random((4, 784)) < 0.3).astype(np.float32)
    parts = vae.loss(x, rng=rng)
    vae.backward()
    assert np.isfinite(parts.loss)
    assert all(g.dtype == np.float32 and np.isfinite(g).all() for g in vae.grads.values())
