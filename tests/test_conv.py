import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from kinks import model_kink_margin
from minivae.gradcheck import assert_model_gradients_match
from minivae import VAE, Autoencoder, numerical_gradient
from minivae.conv import (Conv2D, ConvTranspose2D, Flatten, MaxPool2D, Reshape, Upsample2D,
                          conv_decoder, conv_encoder, fold, spread_shifted, sum_shifted, unfold)

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
def conv2d_loops(x, W, b, stride, padding):
    n, _, h, w = x.shape
    c_out, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h_out, w_out = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    y = np.zeros((n, c_out, h_out, w_out))
    for e in range(n):
        for o in range(c_out):
            for r in range(h_out):
                for t in range(w_out):
                    window = xp[e, :, r * stride:r * stride + kh, t * stride:t * stride + kw]
                    y[e, o, r, t] = b[o] + np.sum(W[o] * window)
    return y


def conv_transpose2d_loops(x, W, b, stride, padding):
    """Every input pixel paints W[c] * x onto a kh x kw patch; overlapping patches add."""
    n, c_in, h, w = x.shape
    _, c_out, kh, kw = W.shape
    yp = np.zeros((n, c_out, (h - 1) * stride + kh, (w - 1) * stride + kw))
    for e in range(n):
        for c in range(c_in):
            for r in range(h):
                for t in range(w):
                    patch = yp[e, :, r * stride:r * stride + kh, t * stride:t * stride + kw]
                    patch += x[e, c, r, t] * W[c]
    y = yp[:, :, padding:yp.shape[2] - padding, padding:yp.shape[3] - padding]
    return y + b[None, :, None, None]


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


methods = st.sampled_from([None, "unfold", "gather"])


# -- Conv2D -----------------------------------------------------------------------------------
@given(shapes=conv_shapes(), method=methods, seed=seeds)
def test_conv2d_backward_matches_finite_differences(shapes, method, seed):
    n, c_in, c_out, k, stride, padding, h, w = shapes
    rng = np.random.default_rng(seed)
    layer = Conv2D(c_in, c_out, k, rng, stride=stride, padding=padding, dtype=np.float64,
                   method=method)
    layer.params["b"][...] = rng.standard_normal(c_out)
    assert_gradients_match_finite_differences(layer, rng.standard_normal((n, c_in, h, w)), rng)


@given(shapes=conv_shapes(), method=methods, seed=seeds)
def test_conv2d_forward_matches_the_direct_sum(shapes, method, seed):
    n, c_in, c_out, k, stride, padding, h, w = shapes
    rng = np.random.default_rng(seed)
    layer = Conv2D(c_in, c_out, k, rng, stride=stride, padding=padding, dtype=np.float64,
                   method=method)
    layer.params["b"][...] = rng.standard_normal(c_out)
    x = rng.standard_normal((n, c_in, h, w))
    expected = conv2d_loops(x, layer.params["W"], layer.params["b"], stride, padding)
    assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


def test_conv2d_default_method_keeps_the_temporary_small():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 8, 6, 6))
    widen, narrow = Conv2D(8, 16, 3, rng, padding=1), Conv2D(8, 1, 3, rng, padding=1)
    widen.forward(x)
    narrow.forward(x)
    assert widen._method == "unfold" and narrow._method == "gather"


@pytest.mark.parametrize("method", ["unfold", "gather"])
def test_conv2d_backward_without_dx_fills_the_same_gradients(method):
    rng = np.random.default_rng(1)
    layer = Conv2D(3, 2, 3, rng, stride=2, padding=1, dtype=np.float64, method=method)
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


# -- ConvTranspose2D --------------------------------------------------------------------------
@given(shapes=conv_shapes(), seed=seeds)
def test_conv_transpose2d_backward_matches_finite_differences(shapes, seed):
    n, c_in, c_out, k, stride, padding, h, w = shapes
    rng = np.random.default_rng(seed)
    layer = ConvTranspose2D(c_in, c_out, k, rng, stride=stride, padding=padding, dtype=np.float64)
    h_out, w_out = layer.output_shape(h, w)
    if h_out < 1 or w_out < 1:                  # the padding crops everything away
        with pytest.raises(ValueError, match="crops"):
            layer.forward(np.zeros((n, c_in, h, w)))
        return
    layer.params["b"][...] = rng.standard_normal(c_out)
    assert_gradients_match_finite_differences(layer, rng.standard_normal((n, c_in, h, w)), rng)


@given(shapes=conv_shapes(), seed=seeds)
def test_conv_transpose2d_forward_matches_the_direct_sum(shapes, seed):
    n, c_in, c_out, k, stride, padding, h, w = shapes
    rng = np.random.default_rng(seed)
    layer = ConvTranspose2D(c_in, c_out, k, rng, stride=stride, padding=padding, dtype=np.float64)
    h_out, w_out = layer.output_shape(h, w)
    if h_out < 1 or w_out < 1:
        return
    layer.params["b"][...] = rng.standard_normal(c_out)
    x = rng.standard_normal((n, c_in, h, w))
    y = layer.forward(x)
    assert y.shape == (n, c_out, (h - 1) * stride - 2 * padding + k[0],
                       (w - 1) * stride - 2 * padding + k[1])
    expected = conv_transpose2d_loops(x, layer.params["W"], layer.params["b"], stride, padding)
    assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


@given(shapes=conv_shapes(), method=methods, seed=seeds)
def test_conv_transpose_is_the_adjoint_of_conv(shapes, method, seed):
    """<conv(u), v> == <u, conv_transpose(v)>, and conv_transpose(v) is conv's input gradient."""
    n, c_in, c_out, k, stride, padding, h, w = shapes
    rng = np.random.default_rng(seed)
    conv = Conv2D(c_in, c_out, k, rng, stride=stride, padding=padding, dtype=np.float64,
                  method=method)
    h_out, w_out = conv.output_shape(h, w)
    # conv_transpose maps (h_out, w_out) back to (h, w) only when the stride lands exactly
    h, w = (h_out - 1) * stride - 2 * padding + k[0], (w_out - 1) * stride - 2 * padding + k[1]
    if h < 1 or w < 1:
        return
    transpose = ConvTranspose2D(c_out, c_in, k, rng, stride=stride, padding=padding,
                                dtype=np.float64)
    transpose.params["W"][...] = conv.params["W"]                  # the same weights, no bias
    u, v = rng.standard_normal((n, c_in, h, w)), rng.standard_normal((n, c_out, h_out, w_out))

    conv_u = conv.forward(u)
    transpose_v = transpose.forward(v)

    assert_allclose(np.sum(conv_u * v), np.sum(u * transpose_v), rtol=1e-12, atol=1e-12)
    assert_allclose(transpose_v, conv.backward(v), rtol=1e-12, atol=1e-12)


# -- im2col and its adjoints ------------------------------------------------------------------
@given(shapes=conv_shapes(), seed=seeds)
def test_fold_is_the_adjoint_of_unfold_and_spread_of_sum(shapes, seed):
    n, c, _, (kh, kw), stride, padding, h, w = shapes
    rng = np.random.default_rng(seed)
    hp, wp = h + 2 * padding, w + 2 * padding
    h_out, w_out = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    a = rng.standard_normal((c, n, hp, wp))
    cols = rng.standard_normal((c * kh * kw, n * h_out * w_out))
    assert_allclose(np.sum(unfold(a, kh, kw, stride, h_out, w_out) * cols),
                    np.sum(a * fold(cols, a.shape, kh, kw, stride, h_out, w_out)), rtol=1e-12)

    z, dy = rng.standard_normal((c, kh, kw, n, hp, wp)), rng.standard_normal((c, n, h_out, w_out))
    assert_allclose(np.sum(sum_shifted(z, stride, h_out, w_out) * dy),
                    np.sum(z * spread_shifted(dy, z.shape, stride)), rtol=1e-12)


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
    lambda rng: Conv2D(3, 4, 3, rng, padding=1, method="unfold"),
    lambda rng: Conv2D(3, 2, 3, rng, stride=2, method="gather"),
    lambda rng: ConvTranspose2D(3, 2, 3, rng, stride=2, padding=1),
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
    with pytest.raises(ValueError, match="method"):
        Conv2D(3, 4, 3, rng, method="fft")
    with pytest.raises(ValueError, match="stride"):
        ConvTranspose2D(3, 4, 3, rng, stride=0)
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
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="divisible by 4"):
        conv_encoder(image_shape, (2, 3), 4, rng)
    with pytest.raises(ValueError, match="divisible by 4"):
        conv_decoder(2, image_shape, (3, 2), rng)


def test_conv_networks_need_two_channel_counts():
    with pytest.raises(ValueError, match="two numbers"):
        conv_encoder((1, 8, 8), (2, 3, 4), 4, np.random.default_rng(0))


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


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
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
