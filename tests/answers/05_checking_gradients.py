"""Answers tried against the checks of notebooks/05_checking_gradients.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "05-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {
            "cbrt": """\
u = np.finfo(np.float64).eps / 2
t = np.tanh(x0)
h_star = np.cbrt(3 * u * t / ((6 * t**2 - 2) * (1 - t**2)))
""",
            "epsneg_and_sech": """\
u = np.finfo(np.float64).epsneg                      # = eps / 2 for float64
sech2 = 1 / np.cosh(x0) ** 2                         # 1 - tanh^2
f3 = (6 * np.tanh(x0) ** 2 - 2) * sech2
h_star = float((3 * u * abs(np.tanh(x0)) / abs(f3)) ** (1 / 3))
""",
            "two_to_the_minus_53": """\
u = 2.0 ** -53
f0 = np.tanh(0.7)
f3 = -2 * (1 - f0**2) * (1 - 3 * f0**2)              # the same polynomial, expanded differently
h_star = (3 * u * abs(f0) / abs(f3)) ** (1 / 3)
""",
            "sech_powers": """\
u = 2.0**-53
sech2 = 1 / np.cosh(x0) ** 2
f3 = 4 * sech2 * np.tanh(x0) ** 2 - 2 * sech2**2               # d/dx of f'' = -2 sech^2 tanh
h_star = np.cbrt(3 * u * np.abs(np.tanh(x0)) / np.abs(f3))
""",
            "float_and_math_module": """\
import math
u = float(np.finfo(float).eps) / 2
t = math.tanh(float(x0))
h_star = (3 * u * abs(t) / abs(2 * (3 * t * t - 1) * (1 - t * t))) ** (1.0 / 3.0)
""",
            "math_ulp_and_cosh": """\
import math
u = math.ulp(1.0) / 2
t = math.tanh(x0)
h_star = (3 * u * abs(t) / abs((6 * t * t - 2) / math.cosh(x0) ** 2)) ** (1 / 3)
""",
        },
        "wrong": {
            "sqrt_rule_of_forward_differences": """\
u = np.finfo(np.float64).eps / 2
h_star = np.sqrt(u)                                  # the forward difference's rule, not the central one's
""",
            "measured_h_not_the_formula": """\
h_star = h64                                         # the grid's best h, not the prediction
""",
            "u_cube_root_unscaled": """\
u = np.finfo(np.float64).eps / 2
h_star = u ** (1 / 3)                                # the order of magnitude only
""",
            "first_derivative_for_the_third": """\
u = np.finfo(np.float64).eps / 2
t = np.tanh(x0)
h_star = (3 * u * abs(t) / abs(1 - t**2)) ** (1 / 3)     # |f'| in place of |f'''|
""",
            "machine_eps_not_unit_roundoff": """\
u = np.finfo(np.float64).eps                         # eps, not eps / 2
t = np.tanh(x0)
h_star = (3 * u * abs(t) / abs((6 * t**2 - 2) * (1 - t**2))) ** (1 / 3)
""",
            "factor_3_dropped": """\
u = np.finfo(np.float64).eps / 2
t = np.tanh(x0)
h_star = (u * abs(t) / abs((6 * t**2 - 2) * (1 - t**2))) ** (1 / 3)
""",
            "f_left_out": """\
u = np.finfo(np.float64).eps / 2
t = np.tanh(x0)
h_star = (3 * u / abs((6 * t**2 - 2) * (1 - t**2))) ** (1 / 3)      # |f| taken as 1
""",
            "second_derivative_for_the_third": """\
u = np.finfo(np.float64).eps / 2
t = np.tanh(x0)
h_star = (3 * u * abs(t) / abs(-2 * t * (1 - t**2))) ** (1 / 3)     # |f''|
""",
            "float32_unit_roundoff": """\
u = np.finfo(np.float32).eps / 2
t = np.tanh(x0)
h_star = (3 * u * abs(t) / abs((6 * t**2 - 2) * (1 - t**2))) ** (1 / 3)
""",
            "cube_root_by_floor_division": """\
u = np.finfo(np.float64).eps / 2
t = np.tanh(x0)
f3 = (6 * t**2 - 2) * (1 - t**2)
h_star = (3 * u * abs(t) / abs(f3)) ** (1 // 3)                 # 1 // 3 == 0
""",
            "one_element_array": """\
u = np.finfo(np.float64).eps / 2
t = np.tanh(np.array([x0]))
f3 = (6 * t**2 - 2) * (1 - t**2)
h_star = (3 * u * abs(t) / abs(f3)) ** (1 / 3)                  # shape (1,), not one number
""",
            "third_derivative_of_sech_squared": """\
u = np.finfo(np.float64).eps / 2
t = np.tanh(x0)
f3 = (6 * t**2 - 2) * (1 - t**2) * (-2 * t)                      # one derivative too many
h_star = (3 * u * abs(t) / abs(f3)) ** (1 / 3)
""",
            "formula_under_another_name": """\
u = np.finfo(np.float64).eps / 2
t = np.tanh(x0)
h_opt = (3 * u * abs(t) / abs((6 * t**2 - 2) * (1 - t**2))) ** (1 / 3)   # not named h_star
""",
        },
    },
    2: {
        "right": {
            "restore_by_arithmetic": """\
grad = np.zeros_like(x)
for i in np.ndindex(x.shape):
    x[i] += h
    f_plus = f()
    x[i] -= 2 * h
    f_minus = f()
    x[i] += h                                        # back, to within an ulp
    grad[i] = (f_plus - f_minus) / (2 * h)
""",
            "nditer_multi_index": """\
grad = np.empty_like(x)
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
""",
            "flat_index": """\
grad = np.zeros(x.shape)
for k in range(x.size):
    old = x.flat[k]
    x.flat[k] = old + h
    f_plus = f()
    x.flat[k] = old - h
    f_minus = f()
    x.flat[k] = old
    grad.flat[k] = (f_plus - f_minus) / (2 * h)
""",
            "try_finally": """\
grad = np.zeros_like(x)
for i in np.ndindex(*x.shape):
    old = x[i].copy()
    try:
        x[i] = old + h
        up = f()
        x[i] = old - h
        down = f()
    finally:
        x[i] = old
    grad[i] = (up - down) / h / 2
""",
            "put_and_take": """\
grad = np.zeros(x.shape, dtype=np.float64)
for k in range(x.size):
    idx = np.unravel_index(k, x.shape)
    old = float(x[idx])
    x[idx] = old + h
    up = f()
    x[idx] = old - h
    down = f()
    x[idx] = old
    grad[idx] = (up - down) / (2 * h)
""",
            "ravel_K_is_a_view": """\
grad = np.zeros_like(x)                                       # zeros_like keeps x's (Fortran) order
flat, gflat = x.ravel(order="K"), grad.ravel(order="K")       # views, in memory order
for i in range(flat.size):
    old = flat[i]
    flat[i] = old + h; fp = f()
    flat[i] = old - h; fm = f()
    flat[i] = old
    gflat[i] = (fp - fm) / (2 * h)
""",
        },
        "wrong": {
            "forward_difference": """\
grad = np.zeros_like(x)
f0 = f()
for i in np.ndindex(x.shape):
    old = x[i]
    x[i] = old + h
    grad[i] = (f() - f0) / h                  # a forward difference
    x[i] = old
""",
            "not_restored": """\
grad = np.zeros_like(x)
for i in np.ndindex(x.shape):
    old = x[i]
    x[i] = old + h
    f_plus = f()
    x[i] = old - h
    f_minus = f()                             # x[i] left at old - h
    grad[i] = (f_plus - f_minus) / (2 * h)
""",
            "arithmetic_restore_forgotten": """\
grad = np.zeros_like(x)
for i in np.ndindex(x.shape):
    x[i] += h
    f_plus = f()
    x[i] -= 2 * h
    f_minus = f()                             # the final += h is missing
    grad[i] = (f_plus - f_minus) / (2 * h)
""",
            "divides_by_h_not_2h": """\
grad = np.zeros_like(x)
for i in np.ndindex(x.shape):
    old = x[i]
    x[i] = old + h
    f_plus = f()
    x[i] = old - h
    f_minus = f()
    x[i] = old
    grad[i] = (f_plus - f_minus) / h
""",
            "sign_flipped": """\
grad = np.zeros_like(x)
for i in np.ndindex(x.shape):
    old = x[i]
    x[i] = old + h
    f_plus = f()
    x[i] = old - h
    f_minus = f()
    x[i] = old
    grad[i] = (f_minus - f_plus) / (2 * h)
""",
            "perturbs_a_copy": """\
grad = np.zeros_like(x)
y = x.copy()                                   # f() reads x, not y: it never sees the change
for i in np.ndindex(y.shape):
    old = y[i]
    y[i] = old + h
    f_plus = f()
    y[i] = old - h
    f_minus = f()
    y[i] = old
    grad[i] = (f_plus - f_minus) / (2 * h)
""",
            "whole_rows_perturbed": """\
grad = np.zeros_like(x)
for i in range(len(x)):                        # x[i] is a row: every entry of it moves at once
    old = x[i].copy()
    x[i] = old + h
    f_plus = f()
    x[i] = old - h
    f_minus = f()
    x[i] = old
    grad[i] = (f_plus - f_minus) / (2 * h)
""",
            "step_hard_coded": """\
grad = np.zeros_like(x)
for i in np.ndindex(x.shape):
    old = x[i]
    x[i] = old + 1e-5                           # ignores the argument h
    f_plus = f()
    x[i] = old - 1e-5
    f_minus = f()
    x[i] = old
    grad[i] = (f_plus - f_minus) / 2e-5
""",
            "float32_gradient_buffer": """\
grad = np.zeros(x.shape, dtype=np.float32)                       # rounds every entry to float32
for i in np.ndindex(x.shape):
    old = x[i]
    x[i] = old + h
    f_plus = f()
    x[i] = old - h
    f_minus = f()
    x[i] = old
    grad[i] = (f_plus - f_minus) / (2 * h)
""",
            "perturbs_a_reshaped_copy": """\
flat = x.reshape(-1)                                             # a view only if x is C-contiguous
grad = np.zeros(x.size)
for k in range(x.size):
    old = flat[k]
    flat[k] = old + h
    f_plus = f()
    flat[k] = old - h
    f_minus = f()
    flat[k] = old
    grad[k] = (f_plus - f_minus) / (2 * h)
grad = grad.reshape(x.shape)
""",
            "restores_to_the_perturbed_value": """\
grad = np.zeros_like(x)
for i in np.ndindex(x.shape):
    x[i] += h
    old = x[i]                                                   # saved after the step
    f_plus = f()
    x[i] -= 2 * h
    f_minus = f()
    x[i] = old
    grad[i] = (f_plus - f_minus) / (2 * h)
""",
            "restores_only_at_the_end": """\
saved = x.copy()
grad = np.zeros_like(x)
for i in np.ndindex(x.shape):
    x[i] = saved[i] + h
    f_plus = f()
    x[i] = saved[i] - h                                          # left at -h while the next entries run
    f_minus = f()
    grad[i] = (f_plus - f_minus) / (2 * h)
x[...] = saved                                                   # restored once, after the loop
""",
            "five_point_stencil": """\
grad = np.zeros_like(x)
for i in np.ndindex(x.shape):
    old = x[i]
    vals = []
    for s in (2, 1, -1, -2):
        x[i] = old + s * h
        vals.append(f())
    x[i] = old
    grad[i] = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)   # not the central difference asked for
""",
            "shape_hard_coded_3_by_4": """\
grad = np.zeros((3, 4))                                       # the check's shape, not x's
for r in range(3):
    for c in range(4):
        old = x[r, c]
        x[r, c] = old + h; fp = f()
        x[r, c] = old - h; fm = f()
        x[r, c] = old
        grad[r, c] = (fp - fm) / (2 * h)
""",
        },
    },
    3: {
        "right": {
            "hstack_then_backward": """\
dz = vae.decoder.backward(dlogits)
dmu, dlog_var = sampler.backward(dz)
vae.encoder.backward(np.hstack([dmu + dmu_kl, dlog_var + dlog_var_kl]))
""",
            "kl_added_after_concatenating": """\
dz = vae.decoder.backward(dlogits)
dmu, dlog_var = sampler.backward(dz)
dh = np.concatenate([dmu, dlog_var], axis=1) + np.concatenate([dmu_kl, dlog_var_kl], axis=1)
vae.encoder.backward(dh)
""",
            "filled_in_halves": """\
dz = vae.decoder.backward(dlogits)
dmu, dlog_var = sampler.backward(dz)
dh = np.empty((len(x), 2 * latent))
dh[:, :latent] = dmu + dmu_kl
dh[:, latent:] = dlog_var + dlog_var_kl
vae.encoder.backward(dh)
""",
            "np_c_": """\
dz = vae.decoder.backward(dlogits)                               # (N, L)
dmu, dlog_var = sampler.backward(dz)
vae.encoder.backward(np.c_[dmu + dmu_kl, dlog_var + dlog_var_kl])
""",
            "sampler_by_hand": """\
dz = vae.decoder.backward(dlogits)
dmu = dz + dmu_kl
dlog_var = dz * eps * np.exp(0.5 * log_var) / 2 + dlog_var_kl    # the sampler's backward, written out
vae.encoder.backward(np.concatenate([dmu, dlog_var], axis=-1))
""",
            "kl_added_to_the_stacked_halves": """\
dz = vae.decoder.backward(dlogits)
dmu, dlog_var = sampler.backward(dz)
vae.encoder.backward(np.hstack([dmu, dlog_var]) + np.hstack([dmu_kl, dlog_var_kl]))
""",
            "the_library_backward": """\
vae.loss(x, eps=eps)                                          # the library's pass, as the_library_adam in 02
vae.backward()
""",
            "kl_gradient_recomputed": """\
_, dmu_k, dlv_k = kl_standard_normal(mu, log_var)
dz = vae.decoder.backward(dlogits)
dmu, dlog_var = sampler.backward(dz)
vae.encoder.backward(np.concatenate([dmu + dmu_k, dlog_var + dlv_k], axis=1))
""",
        },
        "wrong": {
            "forgot_the_kl_gradient": """\
dz = vae.decoder.backward(dlogits)
dmu, dlog_var = sampler.backward(dz)
dh = np.concatenate([dmu, dlog_var], axis=1)        # forgot the KL term's gradient
vae.encoder.backward(dh)
""",
            "kl_gradient_on_mu_only": """\
dz = vae.decoder.backward(dlogits)
dmu, dlog_var = sampler.backward(dz)
vae.encoder.backward(np.concatenate([dmu + dmu_kl, dlog_var], axis=1))
""",
            "halves_swapped": """\
dz = vae.decoder.backward(dlogits)
dmu, dlog_var = sampler.backward(dz)
vae.encoder.backward(np.concatenate([dlog_var + dlog_var_kl, dmu + dmu_kl], axis=1))
""",
            "kl_gradient_subtracted": """\
dz = vae.decoder.backward(dlogits)
dmu, dlog_var = sampler.backward(dz)
vae.encoder.backward(np.concatenate([dmu - dmu_kl, dlog_var - dlog_var_kl], axis=1))
""",
            "sampler_skipped": """\
dz = vae.decoder.backward(dlogits)
vae.encoder.backward(np.concatenate([dz + dmu_kl, dz + dlog_var_kl], axis=1))   # dz as both halves
""",
            "kl_gradient_times_n": """\
dz = vae.decoder.backward(dlogits)
dmu, dlog_var = sampler.backward(dz)
n = len(x)
vae.encoder.backward(np.concatenate([dmu + n * dmu_kl, dlog_var + n * dlog_var_kl], axis=1))
""",
            "decoder_backward_by_matrices_only": """\
dz = dlogits @ vae.params["decoder.2.W"].T @ vae.params["decoder.0.W"].T    # skips the layers' backward
dmu, dlog_var = sampler.backward(dz)
vae.encoder.backward(np.concatenate([dmu + dmu_kl, dlog_var + dlog_var_kl], axis=1))
""",
            "kl_gradient_through_the_sampler": """\
dz = vae.decoder.backward(dlogits)
dmu, dlog_var = sampler.backward(dz + dmu_kl)                    # the KL does not pass through z
vae.encoder.backward(np.concatenate([dmu, dlog_var + dlog_var_kl], axis=1))
""",
            "sampler_by_hand_log_var_as_log_sigma": """\
dz = vae.decoder.backward(dlogits)
dlog_var = dz * eps * np.exp(log_var)                            # sigma = exp(log_var): the classic bug
vae.encoder.backward(np.concatenate([dz + dmu_kl, dlog_var + dlog_var_kl], axis=1))
""",
            "kl_gradient_halved_on_log_var": """\
dz = vae.decoder.backward(dlogits)
dmu, dlog_var = sampler.backward(dz)
vae.encoder.backward(np.concatenate([dmu + dmu_kl, dlog_var + 0.5 * dlog_var_kl], axis=1))
""",
            "sampler_backward_given_eps_raises": """\
dz = vae.decoder.backward(dlogits)
dmu, dlog_var = sampler.backward(dz, eps)                    # backward takes dz only: TypeError
dh = np.concatenate([dmu + dmu_kl, dlog_var + dlog_var_kl], axis=1)
vae.encoder.backward(dh)
""",
        },
    },
}
