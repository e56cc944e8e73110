"""Answers tried against the checks of notebooks/04_kl_closed_form.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "04-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {
            "mean_of_row_sums": """\
n = mu.shape[0]
kl = np.mean(0.5 * np.sum(mu**2 + np.exp(log_var) - log_var - 1, axis=1))
dmu = mu / n
dlog_var = 0.5 * (np.exp(log_var) - 1) / n
""",
            "expm1_form": """\
n = len(mu)
v = np.exp(log_var)
kl = 0.5 * np.sum(mu * mu + np.expm1(log_var) - log_var) / n
dmu = mu / n
dlog_var = np.expm1(log_var) / (2 * n)
""",
            "explicit_loop": """\
n, L = mu.shape
kl = 0.0
dmu = np.zeros_like(mu)
dlog_var = np.zeros_like(log_var)
for i in range(n):
    for j in range(L):
        v = np.exp(log_var[i, j])
        kl += 0.5 * (mu[i, j] ** 2 + v - log_var[i, j] - 1) / n
        dmu[i, j] = mu[i, j] / n
        dlog_var[i, j] = (v - 1) / (2 * n)
""",
            "per_dimension_then_sum": """\
n = mu.shape[0]
kl_rows = 0.5 * (mu**2 + np.exp(log_var) - log_var - 1)      # (N, L)
kl = kl_rows.sum(axis=1).mean()
dmu, dlog_var = mu / n, (np.exp(log_var) - 1) / 2 / n
""",
            "the_library_function": """\
kl, dmu, dlog_var = kl_standard_normal(mu, log_var)
""",
            "variance_then_log_of_it": """\
v = np.exp(log_var)                                               # (N, L)
kl = 0.5 * np.mean(np.sum(mu * mu + v - np.log(v) - 1.0, axis=-1))
dmu = mu / len(mu)
dlog_var = 0.5 * (v - 1.0) / len(mu)
""",
            "float_of_mean_of_row_sums": """\
v = np.exp(log_var)
kl = float(np.mean(np.sum(0.5 * (mu**2 + v - log_var - 1), axis=-1)))
dmu, dlog_var = mu / len(mu), (v - 1) / (2 * len(mu))
""",
        },
        "wrong": {
            "dlog_var_sign": """\
n = mu.shape[0]
kl = 0.5 * np.sum(mu**2 + np.exp(log_var) - log_var - 1) / n
dmu = mu / n
dlog_var = (1 - np.exp(log_var)) / (2 * n)                 # sign error
""",
            "sum_over_batch_not_mean": """\
kl = 0.5 * np.sum(mu**2 + np.exp(log_var) - log_var - 1)
dmu = mu
dlog_var = (np.exp(log_var) - 1) / 2
""",
            "mean_over_all_entries": """\
kl = 0.5 * np.mean(mu**2 + np.exp(log_var) - log_var - 1)   # also averages over the L dimensions
dmu = mu / mu.size
dlog_var = (np.exp(log_var) - 1) / (2 * mu.size)
""",
            "missing_half": """\
n = mu.shape[0]
kl = np.sum(mu**2 + np.exp(log_var) - log_var - 1) / n
dmu = 2 * mu / n
dlog_var = (np.exp(log_var) - 1) / n
""",
            "log_var_as_log_std": """\
n = mu.shape[0]
kl = 0.5 * np.sum(mu**2 + np.exp(2 * log_var) - 2 * log_var - 1) / n
dmu = mu / n
dlog_var = (np.exp(2 * log_var) - 1) / n
""",
            "gradient_without_1_over_n": """\
n = mu.shape[0]
kl = 0.5 * np.sum(mu**2 + np.exp(log_var) - log_var - 1) / n
dmu = mu
dlog_var = (np.exp(log_var) - 1) / 2
""",
            "dlog_var_missing_half": """\
n = mu.shape[0]
kl = 0.5 * np.sum(mu**2 + np.exp(log_var) - log_var - 1) / n
dmu = mu / n
dlog_var = (np.exp(log_var) - 1) / n
""",
            "forgot_minus_one": """\
n = mu.shape[0]
kl = 0.5 * np.sum(mu**2 + np.exp(log_var) - log_var) / n
dmu = mu / n
dlog_var = (np.exp(log_var) - 1) / (2 * n)
""",
            "dlog_var_w_r_t_v": """\
n = mu.shape[0]
kl = 0.5 * np.sum(mu**2 + np.exp(log_var) - log_var - 1) / n
dmu = mu / n
dlog_var = (1 - np.exp(-log_var)) / (2 * n)                # d/dv, not d/dlog v
""",
            "batch_size_hard_coded_5": """\
kl = 0.5 * np.sum(mu**2 + np.exp(log_var) - log_var - 1) / 5      # the check's N, not mu.shape[0]
dmu = mu / 5
dlog_var = (np.exp(log_var) - 1) / (2 * 5)
""",
            "averaged_over_latent_dimensions": """\
n = mu.shape[-1]                                                  # L, not N
kl = 0.5 * np.sum(mu**2 + np.exp(log_var) - log_var - 1) / n
dmu = mu / n
dlog_var = (np.exp(log_var) - 1) / (2 * n)
""",
            "float32_arithmetic": """\
m, lv = mu.astype(np.float32), log_var.astype(np.float32)
n = mu.shape[0]
kl = 0.5 * np.sum(m**2 + np.exp(lv) - lv - 1) / n
dmu = m / n
dlog_var = (np.exp(lv) - 1) / (2 * n)
""",
            "divides_the_caller_s_mu_in_place": """\
n = mu.shape[0]
kl = 0.5 * np.sum(mu**2 + np.exp(log_var) - log_var - 1) / n
mu /= n                                                        # the caller's mu, shrunk at every call
dmu = mu
dlog_var = (np.exp(log_var) - 1) / (2 * n)
""",
            "dlog_var_over_the_latent_dimension": """\
n = mu.shape[0]
kl = 0.5 * np.sum(mu**2 + np.exp(log_var) - log_var - 1) / n
dmu = mu / n
dlog_var = (np.exp(log_var) - 1) / 2 / mu.shape[1]
""",
        },
    },
    2: {
        "right": {
            "explicit_inverse": """\
A = W.T @ W / sigma**2 + beta * np.eye(L2)                  # (L2, L2)
mu_beta = np.linalg.inv(A) @ (W.T @ r) / sigma**2
v_beta = beta / (beta + np.sum(W**2, axis=0) / sigma**2)
""",
            "ridge_as_least_squares": """\
A = np.vstack([W / sigma, np.sqrt(beta) * np.eye(L2)])       # (D + L2, L2)
y = np.concatenate([r / sigma, np.zeros(L2)])
mu_beta = np.linalg.lstsq(A, y, rcond=None)[0]
v_beta = 1 / (1 + np.diag(W.T @ W) / (beta * sigma**2))
""",
            "scaled_by_sigma2": """\
mu_beta = np.linalg.solve(W.T @ W + beta * sigma**2 * np.eye(L2), W.T @ r)
v_beta = beta * sigma**2 / (beta * sigma**2 + (W * W).sum(axis=0))
""",
            "coordinate_ascent_to_convergence": """\
mu_beta = np.zeros(L2)
col = np.sum(W * W, axis=0) / sigma**2                             # (L2,)
for _ in range(2_000):                                             # Gauss-Seidel on a convex quadratic
    for j in range(L2):
        rest = r - W @ mu_beta + W[:, j] * mu_beta[j]
        mu_beta[j] = (W[:, j] @ rest / sigma**2) / (col[j] + beta)
v_beta = 1.0 / (1.0 + col / beta)
""",
            "cholesky_solve": """\
from scipy.linalg import cho_factor, cho_solve
A = W.T @ W / sigma**2 + beta * np.eye(L2)                         # (L2, L2), positive definite
mu_beta = cho_solve(cho_factor(A), W.T @ r / sigma**2)
v_beta = beta / (beta + np.einsum("dj,dj->j", W, W) / sigma**2)
""",
            "diagonal_of_the_gram_matrix": """\
A = W.T @ W / sigma**2
mu_beta = np.linalg.solve(A + beta * np.eye(L2), W.T @ r / sigma**2)
v_beta = beta / (beta + np.diag(A))
""",
        },
        "wrong": {
            "beta_missing_in_numerator": """\
mu_beta = np.linalg.solve(W.T @ W / sigma**2 + beta * np.eye(L2), W.T @ r / sigma**2)
v_beta = 1 / (beta + np.sum(W * W, axis=0) / sigma**2)          # beta missing in the numerator
""",
            "beta_ignored_posterior": """\
mu_beta = np.linalg.solve(W.T @ W / sigma**2 + np.eye(L2), W.T @ r / sigma**2)   # the beta = 1 answer
v_beta = 1 / (1 + np.sum(W * W, axis=0) / sigma**2)
""",
            "sigma2_left_out": """\
mu_beta = np.linalg.solve(W.T @ W + beta * np.eye(L2), W.T @ r)
v_beta = beta / (beta + np.sum(W * W, axis=0))
""",
            "diagonal_of_WtW_only": """\
norms = np.sum(W * W, axis=0)                                   # ignores W^T W's off-diagonal
mu_beta = (W.T @ r / sigma**2) / (norms / sigma**2 + beta)
v_beta = beta / (beta + norms / sigma**2)
""",
            "x_instead_of_r": """\
mu_beta = np.linalg.solve(W.T @ W / sigma**2 + beta * np.eye(L2), W.T @ x[0] / sigma**2)   # forgot b
v_beta = beta / (beta + np.sum(W * W, axis=0) / sigma**2)
""",
            "beta_inverted": """\
mu_beta = np.linalg.solve(W.T @ W / sigma**2 + np.eye(L2) / beta, W.T @ r / sigma**2)
v_beta = (1 / beta) / (1 / beta + np.sum(W * W, axis=0) / sigma**2)
""",
            "standard_deviation_not_variance": """\
mu_beta = np.linalg.solve(W.T @ W / sigma**2 + beta * np.eye(L2), W.T @ r / sigma**2)
v_beta = np.sqrt(beta / (beta + np.sum(W * W, axis=0) / sigma**2))
""",
            "row_norms_wrong_axis": """\
mu_beta = np.linalg.solve(W.T @ W / sigma**2 + beta * np.eye(L2), W.T @ r / sigma**2)
v_beta = beta / (beta + np.sum(W * W, axis=1) / sigma**2)       # (D,): norms of the rows
""",
            "beta_added_to_every_entry": """\
mu_beta = np.linalg.solve(W.T @ W / sigma**2 + beta, W.T @ r / sigma**2)    # + beta, not + beta I
v_beta = beta / (beta + np.sum(W * W, axis=0) / sigma**2)
""",
            "variances_from_the_full_inverse": """\
A = W.T @ W / sigma**2 + beta * np.eye(L2)
mu_beta = np.linalg.solve(A, W.T @ r / sigma**2)
v_beta = beta * np.diag(np.linalg.inv(A))                           # marginals, not the diagonal optimum
""",
            "float32_solve": """\
A = (W.T @ W / sigma**2 + beta * np.eye(L2)).astype(np.float32)
mu_beta = np.linalg.solve(A, (W.T @ r / sigma**2).astype(np.float32))
v_beta = (beta / (beta + np.sum(W * W, axis=0) / sigma**2)).astype(np.float32)
""",
            "column_norms_not_squared": """\
mu_beta = np.linalg.solve(W.T @ W / sigma**2 + beta * np.eye(L2), W.T @ r / sigma**2)
v_beta = beta / (beta + np.linalg.norm(W, axis=0) / sigma**2)
""",
            "variances_at_beta_1": """\
mu_beta = np.linalg.solve(W.T @ W / sigma**2 + beta * np.eye(L2), W.T @ r / sigma**2)
v_beta = 1 / (1 + np.sum(W * W, axis=0) / sigma**2)          # the mean-field variances, whatever beta
""",
        },
    },
}
