"""Answers tried against the checks of notebooks/08_hierarchical_vaes.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "08-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {
            "library_with_zero_prior_mean": """\
zeros = np.zeros_like(delta_mu)                   # mu_p drops out, so any mu_p will do
return kl_diag_gaussians(zeros + delta_mu, log_var_p + delta_log_var, zeros, log_var_p)[0]
""",
            "mean_of_row_sums": """\
per_dim = delta_mu**2 / np.exp(log_var_p) + np.exp(delta_log_var) - delta_log_var - 1
return float(np.mean(0.5 * np.sum(per_dim, axis=1)))
""",
            "explicit_loop": """\
total = 0.0
for n in range(delta_mu.shape[0]):
    for j in range(delta_mu.shape[1]):
        total += 0.5 * (delta_mu[n, j] ** 2 * np.exp(-log_var_p[n, j]) + np.exp(delta_log_var[n, j])
                        - delta_log_var[n, j] - 1)
return total / delta_mu.shape[0]
""",
            "expm1_form": """\
n = len(delta_mu)
return 0.5 * np.sum(delta_mu**2 * np.exp(-log_var_p) + np.expm1(delta_log_var) - delta_log_var) / n
""",
            "scaled_difference_squared": """\
scaled = delta_mu * np.exp(-0.5 * log_var_p)                      # delta_mu / sigma_p
return float(0.5 * np.mean(np.sum(scaled**2 + np.exp(delta_log_var) - delta_log_var - 1, axis=1)))
""",
            "einsum_over_both_axes": """\
t = delta_mu**2 / np.exp(log_var_p) + np.expm1(delta_log_var) - delta_log_var
return 0.5 * np.einsum("nl->", t) / len(t)
""",
            "library_with_zero_prior_mean_and_delta": """\
z0 = np.zeros_like(delta_mu)
return kl_diag_gaussians(delta_mu, log_var_p + delta_log_var, z0, log_var_p)[0]
""",
        },
        "wrong": {
            "planted": """\
n = delta_mu.shape[0]
return 0.5 * np.sum(delta_mu**2 + np.exp(delta_log_var) - delta_log_var - 1) / n   # forgot the prior's variance
""",
            "sum_not_mean": """\
return 0.5 * np.sum(delta_mu**2 * np.exp(-log_var_p) + np.exp(delta_log_var) - delta_log_var - 1)
""",
            "mean_over_all_entries": """\
return 0.5 * np.mean(delta_mu**2 * np.exp(-log_var_p) + np.exp(delta_log_var) - delta_log_var - 1)
""",
            "missing_half": """\
n = delta_mu.shape[0]
return np.sum(delta_mu**2 * np.exp(-log_var_p) + np.exp(delta_log_var) - delta_log_var - 1) / n
""",
            "times_prior_variance": """\
n = delta_mu.shape[0]
return 0.5 * np.sum(delta_mu**2 * np.exp(log_var_p) + np.exp(delta_log_var) - delta_log_var - 1) / n
""",
            "sign_of_delta_log_var": """\
n = delta_mu.shape[0]
return 0.5 * np.sum(delta_mu**2 * np.exp(-log_var_p) + np.exp(delta_log_var) + delta_log_var - 1) / n
""",
            "missing_minus_one": """\
n = delta_mu.shape[0]
return 0.5 * np.sum(delta_mu**2 * np.exp(-log_var_p) + np.exp(delta_log_var) - delta_log_var) / n
""",
            "divided_by_posterior_variance": """\
n = delta_mu.shape[0]
return 0.5 * np.sum(delta_mu**2 * np.exp(-(log_var_p + delta_log_var)) + np.exp(delta_log_var)
                    - delta_log_var - 1) / n
""",
            "batch_size_hard_coded_5": """\
return 0.5 * np.sum(delta_mu**2 * np.exp(-log_var_p) + np.exp(delta_log_var) - delta_log_var - 1) / 5
""",
            "prior_variance_ignored": """\
n = delta_mu.shape[0]
return 0.5 * np.sum(delta_mu**2 + np.exp(delta_log_var) - delta_log_var - 1) / n    # as if sigma_p = 1
""",
            "kl_the_other_way": """\
n = delta_mu.shape[0]                                              # KL(p || q), not KL(q || p)
return 0.5 * np.sum(delta_mu**2 * np.exp(-log_var_p - delta_log_var) + np.exp(-delta_log_var)
                    + delta_log_var - 1) / n
""",
            "float32_intermediates": """\
n = delta_mu.shape[0]
a = np.float32
return float(0.5 * np.sum(a(delta_mu)**2 * np.exp(-a(log_var_p)) + np.exp(a(delta_log_var)) - a(delta_log_var) - 1) / n)
""",
            "log_var_doubled_in_place": """\
n = delta_mu.shape[0]
delta_log_var *= 2                                             # read as a log-std, converted in place
return 0.5 * np.sum(delta_mu**2 * np.exp(-log_var_p) + np.exp(delta_log_var) - delta_log_var - 1) / n
""",
            "prior_log_var_negated_in_place": """\
n = delta_mu.shape[0]
log_var_p *= -1                                                # a log-precision, in the caller's array
return 0.5 * np.sum(delta_mu**2 * np.exp(-log_var_p) + np.exp(delta_log_var) - delta_log_var - 1) / n
""",
        },
    },
    2: {
        "right": {
            "product_over_sum_of_variances": """\
var_d, var_p = np.exp(log_var_d), np.exp(log_var_p)
var_q = var_d * var_p / (var_d + var_p)
return (mu_d * var_p + mu_p * var_d) / (var_d + var_p), np.log(var_q)
""",
            "logaddexp_stable": """\
log_var_q = -np.logaddexp(-log_var_d, -log_var_p)             # log 1/(1/s_d^2 + 1/s_p^2)
return mu_d * np.exp(log_var_q - log_var_d) + mu_p * np.exp(log_var_q - log_var_p), log_var_q
""",
            "sigmoid_gate": """\
w = 1 / (1 + np.exp(log_var_d - log_var_p))                   # the weight of mu_d, in (0, 1)
return w * mu_d + (1 - w) * mu_p, log_var_d + np.log(w)
""",
            "reciprocal_precisions": """\
prec_d, prec_p = np.reciprocal(np.exp(log_var_d)), np.reciprocal(np.exp(log_var_p))
mu_q = (prec_d * mu_d + prec_p * mu_p) / (prec_d + prec_p)
return mu_q, -np.log(prec_d + prec_p)
""",
            "loop_over_entries": """\
import math
mu_q, log_var_q = np.empty_like(mu_d), np.empty_like(mu_d)
for i in np.ndindex(mu_d.shape):
    pd, pp = math.exp(-log_var_d[i]), math.exp(-log_var_p[i])     # precisions
    mu_q[i] = (pd * mu_d[i] + pp * mu_p[i]) / (pd + pp)
    log_var_q[i] = -math.log(pd + pp)
return mu_q, log_var_q
""",
            "gated_by_the_variance_ratio": """\
var_d, var_p = np.exp(log_var_d), np.exp(log_var_p)
gate = var_p / (var_d + var_p)                                    # the weight of the deterministic path
return mu_p + gate * (mu_d - mu_p), log_var_d + log_var_p - np.log(var_d + var_p)
""",
            "negative_logaddexp_of_precisions": """\
lv_q = -np.logaddexp(-log_var_d, -log_var_p)
mu_q = mu_d * np.exp(lv_q - log_var_d) + mu_p * np.exp(lv_q - log_var_p)
return mu_q, lv_q
""",
        },
        "wrong": {
            "precisions_summed_over_dims": """\
precision = np.sum(np.exp(-log_var_d) + np.exp(-log_var_p), axis=1, keepdims=True)   # over the L dims too
var_q = 1 / precision
mu_q = (mu_d * np.exp(-log_var_d) + mu_p * np.exp(-log_var_p)) * var_q
return mu_q, np.log(var_q) * np.ones_like(mu_d)
""",
            "mean_not_normalized": """\
precision = np.exp(-log_var_d) + np.exp(-log_var_p)
return mu_d * np.exp(-log_var_d) + mu_p * np.exp(-log_var_p), -np.log(precision)   # forgot * sigma_q^2
""",
            "weights_swapped": """\
precision = np.exp(-log_var_d) + np.exp(-log_var_p)
mu_q = (mu_d * np.exp(-log_var_p) + mu_p * np.exp(-log_var_d)) / precision
return mu_q, -np.log(precision)
""",
            "variance_not_log": """\
var_q = 1 / (np.exp(-log_var_d) + np.exp(-log_var_p))
mu_q = (mu_d * np.exp(-log_var_d) + mu_p * np.exp(-log_var_p)) * var_q
return mu_q, var_q                                            # sigma_q^2, not log sigma_q^2
""",
            "log_std_not_log_var": """\
var_q = 1 / (np.exp(-log_var_d) + np.exp(-log_var_p))
mu_q = (mu_d * np.exp(-log_var_d) + mu_p * np.exp(-log_var_p)) * var_q
return mu_q, 0.5 * np.log(var_q)
""",
            "variances_added_as_precisions": """\
var_q = 1 / (np.exp(log_var_d) + np.exp(log_var_p))           # sign slip: sigma^2 used as precision
mu_q = (mu_d * np.exp(log_var_d) + mu_p * np.exp(log_var_p)) * var_q
return mu_q, np.log(var_q)
""",
            "plain_average_of_means": """\
var_q = 1 / (np.exp(-log_var_d) + np.exp(-log_var_p))
return (mu_d + mu_p) / 2, np.log(var_q)
""",
            "log_variances_added": """\
mu_q = (mu_d * np.exp(-log_var_d) + mu_p * np.exp(-log_var_p)) / (np.exp(-log_var_d) + np.exp(-log_var_p))
return mu_q, log_var_d + log_var_p                            # multiplied the variances
""",
            "scales_mu_d_in_place": """\
precision = np.exp(-log_var_d) + np.exp(-log_var_p)
mu_d *= np.exp(-log_var_d)                                        # changes the caller's mu_d
mu_q = (mu_d + mu_p * np.exp(-log_var_p)) / precision
return mu_q, -np.log(precision)
""",
            "weighted_by_standard_deviations": """\
sd, sp = np.exp(-0.5 * log_var_d), np.exp(-0.5 * log_var_p)      # 1/sigma, not 1/sigma^2
mu_q = (mu_d * sd + mu_p * sp) / (sd + sp)
return mu_q, -np.log(np.exp(-log_var_d) + np.exp(-log_var_p))
""",
            "pair_in_the_wrong_order": """\
precision = np.exp(-log_var_d) + np.exp(-log_var_p)
mu_q = (mu_d * np.exp(-log_var_d) + mu_p * np.exp(-log_var_p)) / precision
return -np.log(precision), mu_q                                   # (log_var_q, mu_q)
""",
            "mean_of_the_precisions": """\
precision = 0.5 * (np.exp(-log_var_d) + np.exp(-log_var_p))
var_q = 1 / precision
mu_q = (mu_d * np.exp(-log_var_d) + mu_p * np.exp(-log_var_p)) / (2 * precision)
return mu_q, np.log(var_q)
""",
            "loop_with_the_shape_hard_coded": """\
mu_q, lv_q = np.empty((4, 3)), np.empty((4, 3))               # the check's shape, not the inputs'
for n in range(4):
    for j in range(3):
        pd, pp = np.exp(-log_var_d[n, j]), np.exp(-log_var_p[n, j])
        mu_q[n, j] = (mu_d[n, j] * pd + mu_p[n, j] * pp) / (pd + pp)
        lv_q[n, j] = -np.log(pd + pp)
return mu_q, lv_q
""",
            "log_vars_doubled_in_place": """\
log_var_d *= 2                                                 # read as log-stds, converted in place
log_var_p *= 2
precision = np.exp(-log_var_d) + np.exp(-log_var_p)
mu_q = (mu_d * np.exp(-log_var_d) + mu_p * np.exp(-log_var_p)) / precision
return mu_q, -np.log(precision)
""",
            "clips_log_var_d_in_place": """\
np.clip(log_var_d, -1.0, None, out=log_var_d)                  # "for stability", in the caller's array
precision = np.exp(-log_var_d) + np.exp(-log_var_p)
mu_q = (mu_d * np.exp(-log_var_d) + mu_p * np.exp(-log_var_p)) / precision
return mu_q, -np.log(precision)
""",
        },
    },
}
