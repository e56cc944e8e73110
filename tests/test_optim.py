import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from minivae import SGD, Adam
from minivae.errors import InputError
from minivae.fast.optim import FastAdam


@given(seed=st.integers(0, 2**32 - 1), lr=st.floats(1e-4, 1e-1))
def test_adam_first_step_moves_each_parameter_by_lr_times_sign_of_gradient(seed, lr):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal((4, 3))
    g = rng.standard_normal((4, 3))
    g[np.abs(g) < 1e-3] = 1e-3          # eps = 1e-8 is then negligible against |g|
    params = {"w": p0.copy()}
    Adam(params, lr=lr, eps=1e-8).step({"w": g})
    # m_hat = g and v_hat = g^2 after one step, so the step is lr g / (|g| + eps) ~ lr sign(g)
    assert_allclose(params["w"], p0 - lr * g / (np.abs(g) + 1e-8), rtol=1e-12, atol=1e-15)
    assert_allclose(params["w"] - p0, -lr * np.sign(g), rtol=1e-5)


def test_adam_matches_the_textbook_algorithm_over_many_steps():
    rng = np.random.default_rng(0)
    b1, b2, lr, eps = 0.9, 0.999, 1e-2, 1e-8
    params = {"w": rng.standard_normal(5)}
    p, m, v = params["w"].copy(), np.zeros(5), np.zeros(5)
    opt = Adam(params, lr=lr, beta1=b1, beta2=b2, eps=eps)
    for t in range(1, 50):
        g = rng.standard_normal(5)
        opt.step({"w": g})
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    assert_allclose(params["w"], p, rtol=1e-10)


def _quadratic(params):
    """f(w) = 1/2 (w - c)^T A (w - c), A positive definite; minimum at c. Returns grads."""
    A = np.array([[3.0, 0.5], [0.5, 1.0]])
    c = np.array([1.0, -2.0])
    return {"w": A @ (params["w"] - c)}, c


def test_adam_and_sgd_drive_a_convex_quadratic_to_its_minimum():
    for make in (lambda p: Adam(p, lr=0.05), lambda p: SGD(p, lr=0.1),
                 lambda p: SGD(p, lr=0.05, momentum=0.9)):
        params = {"w": np.array([5.0, 5.0])}
        opt = make(params)
        for _ in range(2000):
            grads, c = _quadratic(params)
            opt.step(grads)
        assert_allclose(params["w"], c, atol=1e-6)


def test_sgd_step_is_lr_times_gradient_and_momentum_accumulates():
    params = {"w": np.zeros(2)}
    opt = SGD(params, lr=0.5, momentum=0.9)
    g = np.array([1.0, -2.0])
    opt.step({"w": g})
    assert_allclose(params["w"], -0.5 * g)
    opt.step({"w": g})                       # v = 0.9 g + g
    assert_allclose(params["w"], -0.5 * g - 0.5 * 1.9 * g)


def test_optimizers_update_in_place_and_keep_float32():
    w = np.ones(3, np.float32)
    params = {"w": w}
    for opt in (Adam(params), FastAdam(params), SGD(params, momentum=0.5)):
        opt.step({"w": np.ones(3, np.float32)})
    assert params["w"] is w and w.dtype == np.float32 and np.all(w < 1)


def test_adam_flushes_subnormal_bound_moments_without_moving_the_parameters(monkeypatch):
    # Entry 0 gets a gradient once, then zeros: its m decays by beta1 a step towards
    # float32's subnormals (< 1.2e-38), which the flush every FLUSH_EVERY steps prevents.
    import minivae.fast.optim
    from minivae.fast.optim import TINY

    def run(flush_every):
        monkeypatch.setattr(minivae.fast.optim, "FLUSH_EVERY", flush_every)
        params = {"w": np.ones(2, np.float32)}
        opt = FastAdam(params, lr=1e-3)
        for t in range(800):
            opt.step({"w": np.array([1.0 if t == 0 else 0.0, 1.0], np.float32)})
        return params["w"], opt.m["w"]

    w_flushed, m_flushed = run(100)
    w_plain, m_plain = run(10**9)                         # never flushes
    assert m_flushed[0] == 0.0 and 0 < abs(m_plain[0]) < TINY   # 0.9^799 ~ 1e-37 unflushed
    assert_allclose(w_flushed, w_plain, rtol=0, atol=0)   # bit for bit: the flush moved nothing


@given(seed=st.integers(0, 2**32 - 1), lr=st.floats(1e-4, 1e-1), beta1=st.floats(0, 0.99),
       beta2=st.floats(0, 0.9999))
def test_fast_adam_takes_the_same_steps_as_the_textbook_adam(seed, lr, beta1, beta2):
    rng = np.random.default_rng(seed)
    p0 = {"w": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    slow, fast = {k: v.copy() for k, v in p0.items()}, {k: v.copy() for k, v in p0.items()}
    adam, fast_adam = Adam(slow, lr, beta1, beta2), FastAdam(fast, lr, beta1, beta2)
    for _ in range(30):
        g = {k: rng.standard_normal(v.shape) for k, v in p0.items()}
        adam.step(g)
        fast_adam.step(g)
    for k in p0:                             # no flush before step 100: the same steps, bit for bit
        assert_allclose(fast[k], slow[k], rtol=0, atol=0)


def test_fast_adam_in_float32_stays_within_round_off_of_the_textbook_adam():
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((50, 20)).astype(np.float32)
    slow, fast = {"w": p0.copy()}, {"w": p0.copy()}
    adam, fast_adam = Adam(slow), FastAdam(fast)
    for _ in range(200):
        g = {"w": rng.standard_normal(p0.shape).astype(np.float32)}
        adam.step(g)
        fast_adam.step(g)
    assert slow["w"].dtype == fast["w"].dtype == np.float32
    assert_allclose(fast["w"], slow["w"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [Adam, FastAdam, SGD])
def test_optimizers_refuse_a_gradient_of_the_wrong_shape_instead_of_broadcasting_it(make):
    params = {"w": np.ones((2, 3))}
    opt = make(params)
    with pytest.raises(InputError, match=r"shape \(1,\) but the parameter has shape \(2, 3\)"):
        opt.step({"w": np.ones(1)})
    assert_allclose(params["w"], 1.0)                     # nothing moved


@pytest.mark.parametrize("make", [Adam, FastAdam, SGD])
def test_optimizers_name_a_missing_or_unexpected_gradient(make):
    opt = make({"w": np.ones(2), "b": np.ones(1)})
    with pytest.raises(InputError, match=r"missing \['b'\], unexpected \['x'\]"):
        opt.step({"w": np.ones(2), "x": np.ones(1)})


@pytest.mark.parametrize("make", [Adam, FastAdam])
@pytest.mark.parametrize("option", [dict(beta1=1.0), dict(beta1=-0.1), dict(beta2=1.0),
                                    dict(beta2=float("nan")), dict(lr=0.0), dict(lr=-1e-3),
                                    dict(lr=float("inf")), dict(eps=0.0), dict(lr="0.1"),
                                    dict(lr=True)])
def test_adam_refuses_hyperparameters_outside_their_range(make, option):
    name = next(iter(option))
    with pytest.raises(InputError, match=f"^{name} must be a number in"):
        make({"w": np.ones(2)}, **option)


@pytest.mark.parametrize("option", [dict(momentum=1.0), dict(momentum=-0.5), dict(lr=0)])
def test_sgd_refuses_hyperparameters_outside_their_range(option):
    with pytest.raises(InputError, match="must be a number in"):
        SGD({"w": np.ones(2)}, **option)


def _algorithm_1_with_loops(p, grads, lr, b1, b2, eps):
    """Kingma & Ba's Algorithm 1, one entry at a time in Python floats (float64)."""
    p, m, v = list(p), [0.0] * len(p), [0.0] * len(p)
    for t, g in enumerate(grads, start=1):
        for i in range(len(p)):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            m_hat = m[i] / (1 - b1**t)
            v_hat = v[i] / (1 - b2**t)
            p[i] = p[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
    return np.array(p)


@given(seed=st.integers(0, 2**32 - 1), lr=st.floats(1e-4, 1e-1), beta1=st.floats(0, 0.99),
       beta2=st.floats(0, 0.9999))
def test_adam_equals_algorithm_1_written_as_loops_over_50_steps(seed, lr, beta1, beta2):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(6)
    grads = [rng.standard_normal(6) for _ in range(50)]
    grads[20][:2] = 0.0                                  # zero gradients in the middle, too
    params = {"w": p0.copy()}
    opt = Adam(params, lr=lr, beta1=beta1, beta2=beta2)
    for g in grads:
        opt.step({"w": g})
    assert_allclose(params["w"], _algorithm_1_with_loops(p0, grads, lr, beta1, beta2, 1e-8),
                    rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_in_place_takes_bit_for_bit_the_steps_of_its_equations_written_as_expressions(dtype):
    # optim.Adam's lines as NumPy expressions (each allocating new arrays): the in-place form
    # does the same operations in the same order, so parameters and moments agree to the last bit.
    rng = np.random.default_rng(0)
    p0 = {"W": rng.standard_normal((40, 9)).astype(dtype), "b": rng.standard_normal(9).astype(dtype)}
    params, p = {k: a.copy() for k, a in p0.items()}, {k: a.copy() for k, a in p0.items()}
    m, v = {k: np.zeros_like(a) for k, a in p0.items()}, {k: np.zeros_like(a) for k, a in p0.items()}
    b1, b2, lr, eps = 0.9, 0.999, 3e-3, 1e-8
    opt = Adam(params, lr=lr, beta1=b1, beta2=b2, eps=eps)
    for t in range(1, 301):
        grads = {k: rng.standard_normal(a.shape).astype(dtype) * (t < 100 or k == "W")
                 for k, a in p0.items()}                 # b's gradient stops: its m decays towards 0
        opt.step(grads)
        lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        eps_t = eps * math.sqrt(1 - b2**t)
        for k, g in grads.items():
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + g * g * (1 - b2)
            p[k] = p[k] - lr_t * (m[k] / (np.sqrt(v[k]) + eps_t))
    for k in p0:
        assert params[k].dtype == dtype
        assert_allclose(params[k], p[k], rtol=0, atol=0)
        assert_allclose(opt.m[k], m[k], rtol=0, atol=0)
        assert_allclose(opt.v[k], v[k], rtol=0, atol=0)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-5), (np.float64, 1e-12)])
def test_adam_stays_within_round_off_of_algorithm_1_with_m_hat_and_v_hat_as_arrays(dtype, rtol):
    # Algorithm 1 as printed, bias-corrected m_hat and v_hat and all, as NumPy expressions:
    # the reordered last lines are the same step, up to rounding.
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal((30, 7)).astype(dtype)
    params, p = {"w": p0.copy()}, p0.copy()
    m, v = np.zeros_like(p0), np.zeros_like(p0)
    b1, b2, lr, eps = 0.9, 0.999, 1e-3, 1e-8
    opt = Adam(params, lr=lr, beta1=b1, beta2=b2, eps=eps)
    for t in range(1, 201):
        g = rng.standard_normal(p0.shape).astype(dtype)
        opt.step({"w": g})
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    assert params["w"].dtype == dtype
    ulps = 8 * np.finfo(dtype).eps * np.abs(p0).max()          # p itself is rounded to its dtype
    assert_allclose(params["w"] - p0, p - p0, rtol=rtol, atol=ulps)     # the distance moved


def test_an_adam_step_allocates_no_array():
    import tracemalloc

    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((500, 2000)).astype(np.float32), "b": np.zeros(2000, np.float32)}
    grads = {k: rng.standard_normal(p.shape).astype(np.float32) for k, p in params.items()}
    opt = Adam(params)
    opt.step(grads)
    tracemalloc.start()
    opt.step(grads)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4096 < params["b"].nbytes          # no array of b's size or larger, let alone W's
