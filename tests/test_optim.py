import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from minivae import SGD, Adam


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
    for opt in (Adam(params), SGD(params, momentum=0.5)):
        opt.step({"w": np.ones(3, np.float32)})
    assert params["w"] is w and w.dtype == np.float32 and np.all(w < 1)


def test_adam_flushes_subnormal_bound_moments_without_moving_the_parameters(monkeypatch):
    # Entry 0 gets a gradient once, then zeros: its m decays by beta1 a step towards
    # float32's subnormals (< 1.2e-38), which the flush every FLUSH_EVERY steps prevents.
    import minivae.optim
    from minivae.optim import TINY

    def run(flush_every):
        monkeypatch.setattr(minivae.optim, "FLUSH_EVERY", flush_every)
        params = {"w": np.ones(2, np.float32)}
        opt = Adam(params, lr=1e-3)
        for t in range(800):
            opt.step({"w": np.array([1.0 if t == 0 else 0.0, 1.0], np.float32)})
        return params["w"], opt.m["w"]

    w_flushed, m_flushed = run(100)
    w_plain, m_plain = run(10**9)                         # never flushes
    assert m_flushed[0] == 0.0 and 0 < abs(m_plain[0]) < TINY   # 0.9^799 ~ 1e-37 unflushed
    assert_allclose(w_flushed, w_plain, rtol=0, atol=0)   # bit for bit: the flush moved nothing
