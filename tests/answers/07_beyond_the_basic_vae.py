"""Answers tried against the checks of notebooks/07_beyond_the_basic_vae.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "07-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {
            "logaddexp_reduce": """\
log_each = np.stack([-gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z) for n in range(3)])
return np.logaddexp.reduce(log_each, axis=0) - np.log(3)
""",
            "broadcast_formula_with_b": """\
var = np.exp(toy_log_var[:, 0])                                   # (3,)
log_each = -0.5 * (np.log(2 * np.pi * var) + (z - toy_mu[:, 0]) ** 2 / var)   # (S, 3)
return logsumexp(log_each, axis=1, b=1 / 3)
""",
            "manual_max_shift": """\
log_each = np.stack([-gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z) for n in range(3)])
m = log_each.max(axis=0)
return m + np.log(np.mean(np.exp(log_each - m), axis=0))
""",
            "loop_logaddexp": """\
out = np.full(len(z), -np.inf)
for n in range(3):
    out = np.logaddexp(out, -gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z))
return out - np.log(3)
""",
            "norm_logpdf_broadcast": """\
from scipy.stats import norm
log_each = norm.logpdf(z, loc=toy_mu.T, scale=np.sqrt(np.exp(toy_log_var.T)))   # (S, 1) vs (1, 3) -> (S, 3)
return logsumexp(log_each, axis=1) - np.log(len(toy_mu))
""",
            "per_row_max_shift_by_hand": """\
sd = np.exp(0.5 * toy_log_var[:, 0])                           # (3,)
a = -0.5 * ((z - toy_mu[:, 0]) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)   # (S, 3)
top = a.max(axis=1, keepdims=True)                             # (S, 1)
return (top + np.log(np.mean(np.exp(a - top), axis=1, keepdims=True)))[:, 0]
""",
            "logsumexp_with_weights_b": """\
lp = np.stack([-gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z) for n in range(3)], axis=1)
return logsumexp(lp, axis=1, b=1 / 3)
""",
        },
        "wrong": {
            "planted": """\
log_each = np.stack([-gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z) for n in range(3)])
return log_each.mean(axis=0)                      # mean of log densities, not log of the mean density
""",
            "missing_log_N": """\
log_each = np.stack([-gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z) for n in range(3)])
return logsumexp(log_each, axis=0)                # the sum of the densities, not their mean
""",
            "plus_log_N": """\
log_each = np.stack([-gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z) for n in range(3)])
return logsumexp(log_each, axis=0) + np.log(3)
""",
            "exp_then_log": """\
log_each = np.stack([-gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z) for n in range(3)])
return np.log(np.mean(np.exp(log_each), axis=0))  # underflows to log(0) = -inf in the tails
""",
            "log_var_as_log_std": """\
sd = np.exp(toy_log_var[:, 0])                    # the classic bug: exp(log_var) taken as sigma
log_each = -0.5 * np.log(2 * np.pi) - np.log(sd) - 0.5 * (z - toy_mu[:, 0]) ** 2 / sd**2
return logsumexp(log_each, axis=1) - np.log(3)
""",
            "log_divided_by_N": """\
log_each = np.stack([-gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z) for n in range(3)])
return logsumexp(log_each, axis=0) / 3            # divided the log by N instead of subtracting log N
""",
            "max_instead_of_logsumexp": """\
log_each = np.stack([-gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z) for n in range(3)])
return log_each.max(axis=0) - np.log(3)           # the largest component only
""",
            "keepdims_shape": """\
log_each = np.stack([-gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z) for n in range(3)])
return logsumexp(log_each, axis=0, keepdims=True) - np.log(3)   # shape (1, S), not (S,)
""",
            "one_max_shift_for_all_points": """\
log_each = np.stack([-gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z) for n in range(3)])   # (3, S)
top = log_each.max()                                           # one max over every point, not per point
return top + np.log(np.mean(np.exp(log_each - top), axis=0))
""",
            "sum_of_log_densities": """\
log_each = np.stack([-gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z) for n in range(3)])
return log_each.sum(axis=0) - np.log(3)                        # the log of a product, not of a mixture
""",
            "variance_as_the_scale": """\
from scipy.stats import norm
log_each = norm.logpdf(z, loc=toy_mu.T, scale=np.exp(toy_log_var.T))    # the variance as sigma
return logsumexp(log_each, axis=1) - np.log(3)
""",
            "shift_by_the_mean_log_density": """\
lp = np.stack([-gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z) for n in range(3)])
m = lp.mean(axis=0)                                           # not the max: exp overflows in the tails
return m + np.log(np.mean(np.exp(lp - m), axis=0))
""",
        },
    },
    2: {
        "right": {
            "float64_ddof1": """\
mu, _ = model.encode(x)
return mu.astype(np.float64).var(axis=0, ddof=1)  # the sample variance, 1/(N-1)
""",
            "float32_var": """\
mu, _ = model.encode(x)
return mu.var(axis=0)                             # float32 throughout
""",
            "explicit_centering": """\
mu = model.encode(x)[0].astype(np.float64)
centred = mu - mu.mean(axis=0)
return (centred**2).sum(axis=0) / len(mu)
""",
            "moments_float32": """\
mu = model.encode(x)[0]
return np.mean(mu**2, axis=0) - np.mean(mu, axis=0) ** 2   # E[mu^2] - E[mu]^2, in float32
""",
            "np_cov_diagonal": """\
mu = model.encode(x)[0].astype(np.float64)
return np.diag(np.cov(mu, rowvar=False))          # np.cov divides by N - 1
""",
            "welford_loop": """\
mu, _ = model.encode(x)
mean = np.zeros(mu.shape[1])
m2 = np.zeros(mu.shape[1])
for k, row in enumerate(mu.astype(np.float64), start=1):      # Welford's running variance
    delta = row - mean
    mean += delta / k
    m2 += delta * (row - mean)
return m2 / len(mu)
""",
            "sum_of_squares_in_float64": """\
mu = model.encode(x)[0].astype(np.float64)
n = mu.shape[0]
return (np.sum(mu**2, axis=0) - n * np.mean(mu, axis=0) ** 2) / (n - 1)
""",
            "latent_diagnostics_activity": """\
return np.asarray(latent_diagnostics(model, x)["activity"], dtype=float)
""",
            "second_moment_minus_square_float32": """\
mu, _ = model.encode(x)
return (mu**2).mean(0) - mu.mean(0)**2
""",
        },
        "wrong": {
            "std_not_var": """\
mu, _ = model.encode(x)
return mu.astype(np.float64).std(axis=0)          # the standard deviation, not the variance
""",
            "wrong_axis": """\
mu, _ = model.encode(x)
return mu.astype(np.float64).var(axis=1)          # a variance per example, (N,)
""",
            "second_moment_not_centred": """\
mu, _ = model.encode(x)
return np.mean(mu.astype(np.float64) ** 2, axis=0)   # E[mu^2]: forgot to subtract the mean
""",
            "variance_of_sampled_z": """\
mu, log_var = model.encode(x)
z = mu + np.exp(0.5 * log_var) * np.random.default_rng(0).standard_normal(mu.shape)
return z.astype(np.float64).var(axis=0)           # adds the posterior's own noise
""",
            "variance_of_log_var": """\
_, log_var = model.encode(x)
return log_var.astype(np.float64).var(axis=0)     # the wrong output of the encoder
""",
            "mean_posterior_variance": """\
_, log_var = model.encode(x)
return np.exp(log_var.astype(np.float64)).mean(axis=0)   # E_x[sigma^2], not Var_x(mu)
""",
            "one_number_for_all_dims": """\
mu, _ = model.encode(x)
return mu.astype(np.float64).var()                # the variance of every entry together
""",
            "global_x_test_not_the_argument": """\
mu, _ = model.encode(x_test)                                   # the notebook's data, not x
return mu.astype(np.float64).var(axis=0)
""",
            "global_mu_not_the_model": """\
return mu.astype(np.float64).var(axis=0)                       # the beta = 1 model's mu from above
""",
            "divides_by_N_minus_2": """\
mu, _ = model.encode(x)
return mu.astype(np.float64).var(axis=0, ddof=2)
""",
            "reads_the_check_s_mu_ref": """\
return mu_ref.var(axis=0)                                     # the check's reference, not model and x
""",
            "centres_the_caller_s_x_in_place": """\
x -= x.mean(axis=0)                                            # changes the caller's images
mu, _ = model.encode(x)
return mu.astype(np.float64).var(axis=0)
""",
            "inverts_the_caller_s_x_in_place": """\
np.subtract(1.0, x, out=x)                                     # ink as 0, in the caller's images
mu, _ = model.encode(x)
return mu.astype(np.float64).var(axis=0)
""",
        },
    },
}
