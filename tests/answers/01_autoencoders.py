"""Answers tried against the checks of notebooks/01_autoencoders.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "01-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {   # quadratic_loss(x_hat, x) -> (value, dx_hat); checked at rtol 1e-5 (float32 inputs)
        "right": {
            "mean_of_row_sums": """\
value = np.mean(np.sum((x_hat - x) ** 2, axis=1))
dx_hat = (2 / len(x)) * (x_hat - x)
""",
            "explicit_loop_over_examples": """\
n = x.shape[0]
value = 0.0
dx_hat = np.zeros_like(x_hat)
for i in range(n):
    d = x_hat[i] - x[i]
    value += np.sum(d * d) / n
    dx_hat[i] = 2 * d / n
""",
            "vdot_of_flattened_difference": """\
diff = x_hat - x
value = np.vdot(diff, diff) / x.shape[0]
dx_hat = 2 * diff / x.shape[0]
""",
            "value_as_a_one_element_array": """\
diff = x_hat - x
value = np.sum(diff**2, axis=(0, 1), keepdims=True).reshape(1) / len(x)     # shape (1,)
dx_hat = diff * (2.0 / len(x))
""",
            "einsum_in_float64": """\
diff = (x_hat - x).astype(np.float64)
value = float(np.einsum("nd,nd->", diff, diff) / len(x))
dx_hat = (2 * diff / len(x)).astype(x_hat.dtype)
""",
            "float64_value_and_multiply": """\
diff = np.subtract(x_hat, x, dtype=np.float64)
value = float(np.sum(np.multiply(diff, diff)) / diff.shape[0])
dx_hat = np.multiply(diff, 2.0 / diff.shape[0])
""",
            "mean_of_squared_row_norms": """\
value = np.mean(np.linalg.norm(x_hat - x, axis=1) ** 2)
dx_hat = 2 * (x_hat - x) / len(x_hat)
""",
            "frobenius_norm_squared": """\
value = np.linalg.norm(x_hat - x) ** 2 / x.shape[0]
dx_hat = 2 * (x_hat - x) / x.shape[0]
""",
            "loop_over_every_pixel": """\
n, d = x.shape
value = 0.0                                      # adds float32 terms one by one (float32 under numpy 2)
for i in range(n):
    for j in range(d):
        value += (x_hat[i, j] - x[i, j]) ** 2
value = value / n
dx_hat = 2 * (x_hat - x) / n
""",
        },
        "wrong": {
            "mean_over_pixels_too": """\
value = np.mean((x - x_hat) ** 2)          # mean over pixels too: 784 times too small
dx_hat = 2 * (x_hat - x) / x.size
""",
            "gradient_sign_flipped": """\
n = x.shape[0]
value = np.sum((x - x_hat) ** 2) / n
dx_hat = 2 * (x - x_hat) / n                # d/dx, not d/dx_hat
""",
            "gradient_missing_factor_2": """\
n = x.shape[0]
value = np.sum((x - x_hat) ** 2) / n
dx_hat = (x_hat - x) / n
""",
            "gradient_not_averaged_over_batch": """\
n = x.shape[0]
value = np.sum((x - x_hat) ** 2) / n
dx_hat = 2 * (x_hat - x)
""",
            "value_summed_over_batch": """\
value = np.sum((x - x_hat) ** 2)            # no 1/N
dx_hat = 2 * (x_hat - x) / x.shape[0]
""",
            "averaged_over_the_wrong_axis": """\
n = x.shape[1]                              # D, not N
value = np.sum((x - x_hat) ** 2) / n
dx_hat = 2 * (x_hat - x) / n
""",
            "norm_not_squared": """\
n = x.shape[0]
r = np.linalg.norm(x_hat - x, axis=1, keepdims=True)    # (N, 1)
value = np.sum(r) / n
dx_hat = (x_hat - x) / (r * n)
""",
            "batch_size_hard_coded_8": """\
value = np.sum((x - x_hat) ** 2) / 8            # the check's batch size, not x.shape[0]
dx_hat = 2 * (x_hat - x) / 8
""",
            "absolute_error": """\
n = x.shape[0]
value = np.sum(np.abs(x - x_hat)) / n
dx_hat = np.sign(x_hat - x) / n
""",
            "value_summed_gradient_averaged_in_float16": """\
n = x.shape[0]
value = np.sum(((x - x_hat) ** 2).astype(np.float16)) / n    # float16 accumulation
dx_hat = 2 * (x_hat - x) / n
""",
            "subtracts_in_place_from_the_caller_s_x_hat": """\
x_hat -= x                                       # the caller's reconstruction is now the residual
value = np.sum(x_hat**2) / x.shape[0]
dx_hat = 2 * x_hat / x.shape[0]
""",
            "batch_size_from_784_pixels": """\
n = x.size // 784                                # N only when D = 784
value = np.sum((x - x_hat) ** 2) / n
dx_hat = 2 * (x_hat - x) / n
""",
        },
    },
    2: {   # pca_reconstruct(x, L, axes=None) -> (N, 784); training loss vs Eckart-Young at rtol 1e-4
        "right": {
            "codes_then_decode": """\
codes = (x - mean_image) @ axes[:L].T                                  # (N, L)
return mean_image + codes @ axes[:L]
""",
            "projector_matrix": """\
P = axes[:L].T @ axes[:L]                                              # (784, 784)
return mean_image + (x - mean_image) @ P
""",
            "loop_over_images": """\
A = axes[:L]
return np.array([mean_image + A.T @ (A @ (row - mean_image)) for row in x])
""",
            "einsum": """\
A = axes[:L]
c = np.einsum("nd,ld->nl", x - mean_image, A)
return np.einsum("nl,ld->nd", c, A) + mean_image
""",
            "float64_projection": """\
A = axes[:L].astype(np.float64)                                        # (L, 784)
c = (x.astype(np.float64) - mean_image) @ A.T
return (c @ A + mean_image).astype(x.dtype)
""",
            "lstsq_codes": """\
A = axes[:L]                                                           # (L, 784), orthonormal rows
codes = np.linalg.lstsq(A.T, (x - mean_image).T, rcond=None)[0]       # (L, N)
return mean_image + codes.T @ A
""",
            "pseudo_inverse_codes": """\
A = axes[:L]
return (x - mean_image) @ np.linalg.pinv(A) @ A + mean_image
""",
        },
        "wrong": {
            "not_centred": """\
V = Vt[:L].T if axes is None else axes[:L].T
return x @ V @ V.T                                             # forgot to centre
""",
            "mean_not_added_back": """\
V = axes[:L].T
return (x - mean_image) @ V @ V.T
""",
            "uses_Vt_not_axes": """\
V = Vt[:L].T                                                   # ignores the axes argument
return (x - mean_image) @ V @ V.T + mean_image
""",
            "columns_not_rows": """\
V = axes[:, :L]                                                # the first L columns
return (x - mean_image) @ V @ V.T + mean_image
""",
            "one_axis_too_many": """\
V = axes[:L + 1].T
return (x - mean_image) @ V @ V.T + mean_image
""",
            "one_axis_too_few": """\
V = axes[:L - 1].T
return (x - mean_image) @ V @ V.T + mean_image
""",
            "centred_with_the_batch_mean": """\
V = axes[:L].T
m_batch = x.mean(axis=0)                                       # not the training mean
return (x - m_batch) @ V @ V.T + m_batch
""",
            "L_hard_coded_16": """\
V = axes[:16].T                                                # the notebook's L, not the argument
return (x - mean_image) @ V @ V.T + mean_image
""",
            "centres_the_caller_s_array_in_place": """\
x -= mean_image                                                # changes the caller's x_train
V = axes[:L].T
return x @ V @ V.T + mean_image
""",
            "codes_scaled_by_singular_values": """\
A = axes[:L]
codes = (x - mean_image) @ A.T * s[:L]                         # scaled codes, decoded unscaled
return mean_image + codes @ A
""",
            "last_L_axes": """\
V = axes[-L:].T
return (x - mean_image) @ V @ V.T + mean_image
""",
            "axes_from_the_batch_s_own_svd": """\
_, _, vt = np.linalg.svd(x - mean_image, full_matrices=False)
V = vt[:L].T
return (x - mean_image) @ V @ V.T + mean_image
""",
            "codes_from_axes_decoded_with_Vt": """\
codes = (x - mean_image) @ axes[:L].T                          # codes from the axes given
return codes @ Vt[:L] + mean_image                             # decoded with Vt
""",
            "codes_from_Vt_decoded_with_axes": """\
codes = (x - mean_image) @ Vt[:L].T                            # codes from Vt
return codes @ axes[:L] + mean_image                           # decoded with the axes given
""",
        },
    },
}
