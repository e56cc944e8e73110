"""Answers tried against the checks of notebooks/03_reparameterization_trick.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "03-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {   # sampler_backward(dz, eps, log_var) -> (dmu, dlog_var); finite differences at rtol 1e-7
        "right": {
            "sigma_from_log_var": """\
dmu = dz.copy()
dlog_var = 0.5 * dz * eps * sigma_from_log_var(log_var)
""",
            "sqrt_of_the_variance": """\
sigma = np.sqrt(np.exp(log_var))
dmu, dlog_var = dz, dz * eps * sigma / 2
""",
            "chain_rule_through_sigma": """\
sigma = np.exp(log_var / 2)
dsigma = dz * eps                                  # dz/dsigma = eps
dmu = dz * np.ones_like(eps)
dlog_var = dsigma * sigma * 0.5                    # dsigma/dlog_var = sigma / 2
""",
            "explicit_loop": """\
dmu, dlog_var = np.empty_like(dz), np.empty_like(dz)
for n in range(dz.shape[0]):
    for j in range(dz.shape[1]):
        dmu[n, j] = dz[n, j]
        dlog_var[n, j] = dz[n, j] * eps[n, j] * np.exp(0.5 * log_var[n, j]) / 2
""",
            "in_place_on_copies": """\
dmu = dz.copy()
dlog_var = dz.copy()
dlog_var *= eps
dlog_var *= np.exp(0.5 * log_var)
dlog_var /= 2
""",
            "exp_of_log_var_over_2_minus_log_2": """\
dmu = np.ones_like(dz) * dz
dlog_var = dz * eps * np.exp(0.5 * log_var - np.log(2.0))      # sigma / 2 in one exp
""",
            "a_fresh_sampler_on_the_arguments": """\
s = GaussianSampler()
s.forward(np.zeros_like(eps), log_var, eps=eps)
dmu, dlog_var = s.backward(dz)
""",
            "einsum_then_halved": """\
dmu = np.array(dz)
dlog_var = np.einsum('nl,nl,nl->nl', dz, eps, np.exp(log_var / 2)) * 0.5
""",
        },
        "wrong": {
            "log_var_as_log_sigma": """\
sigma = np.exp(log_var)                   # log_var treated as log sigma
dmu, dlog_var = dz, dz * eps * sigma
""",
            "missing_one_half": """\
sigma = np.exp(0.5 * log_var)
dmu, dlog_var = dz, dz * eps * sigma
""",
            "variance_in_place_of_sigma": """\
dmu, dlog_var = dz, dz * eps * np.exp(log_var) / 2
""",
            "forgot_eps": """\
sigma = np.exp(0.5 * log_var)
dmu, dlog_var = dz, dz * sigma / 2
""",
            "forgot_sigma": """\
dmu, dlog_var = dz, dz * eps / 2
""",
            "dmu_times_sigma": """\
sigma = np.exp(0.5 * log_var)
dmu, dlog_var = dz * sigma, dz * eps * sigma / 2
""",
            "summed_over_the_batch": """\
sigma = np.exp(0.5 * log_var)
dmu, dlog_var = dz.sum(axis=0), (dz * eps * sigma / 2).sum(axis=0)
""",
            "sign_flipped": """\
sigma = np.exp(0.5 * log_var)
dmu, dlog_var = -dz, -dz * eps * sigma / 2
""",
            "dmu_aliases_dz_scaled_in_place": """\
sigma = np.exp(0.5 * log_var)
dmu = dz
dz *= eps * sigma / 2                                          # also changes dmu: the same array
dlog_var = dz
""",
            "sigma_as_exp_of_log_var_halved": """\
sigma = np.exp(log_var) / 2                                    # exp(log_var) / 2, not exp(log_var / 2)
dmu = dz
dlog_var = dz * eps * sigma / 2
""",
            "derivative_of_log_sigma": """\
sigma = np.exp(0.5 * log_var)
dmu = dz
dlog_var = dz * eps * sigma                                    # dz/dlog_sigma, not dz/dlog_var
""",
            "the_check_s_sampler_not_the_arguments": """\
dmu, dlog_var = sampler.backward(dz)          # a sampler's memory of its last forward pass, not eps, log_var
""",
            "dmu_is_ones": """\
dmu = np.ones_like(dz)                        # dz/dmu, not dloss/dmu
dlog_var = dz * eps * np.exp(0.5 * log_var) / 2
""",
        },
    },
    2: {   # g_mu_score (S, L); unbiased within 4 standard errors, and a larger variance than rep.
        "right": {
            "divide_by_the_variance": """\
g_mu_score = f(z)[:, None] * (z - mu_s) / np.exp(log_var_s)
""",
            "broadcast_mu": """\
g_mu_score = np.sum(z**2, axis=1, keepdims=True) * (z - mu) / sigma**2
""",
            "loop_over_dimensions": """\
g_mu_score = np.empty_like(z)
values = f(z)
for j in range(z.shape[1]):
    g_mu_score[:, j] = values * (z[:, j] - mu_s[:, j]) / sigma[:, j] ** 2
""",
            "with_a_baseline_f_of_mu": """\
g_mu_score = (f(z) - f(mu))[:, None] * (z - mu_s) / sigma**2     # a control variate: still unbiased
""",
            "through_eps": """\
g_mu_score = f(z)[:, None] * ((z - mu_s) / sigma) / sigma          # eps / sigma
""",
            "fresh_samples_from_q": """\
rng_q = np.random.default_rng(123)
z_q = mu_s + sigma * rng_q.standard_normal(mu_s.shape)         # other draws from q: still unbiased
g_mu_score = f(z_q)[:, None] * (z_q - mu_s) / sigma**2
""",
            "batch_mean_baseline": """\
g_mu_score = (f(z) - f(z).mean())[:, None] * (z - mu_s) / sigma**2    # a baseline: bias O(1/S)
""",
            "eps_recovered_from_z": """\
eps = (z - mu_s) / sigma                                        # the noise behind z, to rounding
g_mu_score = f(z)[:, None] * eps / sigma
""",
        },
        "wrong": {
            "forgot_sigma_squared": """\
g_mu_score = f(z)[:, None] * (z - mu_s)                            # forgot / sigma^2
""",
            "divided_by_sigma": """\
g_mu_score = f(z)[:, None] * (z - mu_s) / sigma
""",
            "sign_flipped": """\
g_mu_score = f(z)[:, None] * (mu_s - z) / sigma**2
""",
            "score_without_f": """\
g_mu_score = (z - mu_s) / sigma**2
""",
            "log_var_as_log_sigma": """\
g_mu_score = f(z)[:, None] * (z - mu_s) / np.exp(log_var_s) ** 2
""",
            "mean_f_times_score": """\
g_mu_score = f(z).mean() * (z - mu_s) / sigma**2
""",
            "score_of_log_var": """\
g_mu_score = f(z)[:, None] * 0.5 * ((z - mu_s) ** 2 / sigma**2 - 1)
""",
            "reparameterized_instead": """\
g_mu_score = df(z)                                                  # the other estimator
""",
            "eps_over_sigma_squared": """\
g_mu_score = f(z)[:, None] * eps / sigma**2                   # eps = (z - mu) / sigma: one sigma too many
""",
            "f_at_the_mean_not_at_z": """\
g_mu_score = f(mu_s)[:, None] * (z - mu_s) / sigma**2
""",
            "averaged_over_samples_twice": """\
g_mu_score = f(z)[:, None] * (z - mu_s) / sigma**2 / S        # already a mean: one per sample is asked
""",
            "score_halved": """\
g_mu_score = f(z)[:, None] * (z - mu_s) / (2 * sigma**2)
""",
            "estimate_under_another_name": """\
g_score = f(z)[:, None] * (z - mu_s) / sigma**2                    # not named g_mu_score
""",
            "fewer_fresh_draws_with_S_reset": """\
S = 2_000                                                          # fewer draws, S set to match
z_few = mu_s[:S] + sigma[:S] * np.random.default_rng(1).standard_normal((S, 2))
g_mu_score = f(z_few)[:, None] * (z_few - mu_s[:S]) / sigma[:S] ** 2
""",
        },
    },
    3: {   # buggy_variance(log_var), shaped like log_var; within 2% of 200,000 measured samples
        "right": {
            "exp_of_twice": """\
return np.exp(2 * log_var)
""",
            "std_squared": """\
std = np.exp(log_var)
return std**2
""",
            "sigma_to_the_fourth": """\
return sigma_from_log_var(log_var) ** 4
""",
            "square_of_exp": """\
return np.square(np.exp(log_var))
""",
            "exp_of_log_var_plus_log_var": """\
return np.exp(log_var + log_var)
""",
            "power_of_e": """\
return np.power(np.e, 2.0 * np.asarray(log_var, dtype=float))
""",
            "float32_arithmetic": """\
return np.exp(np.asarray(log_var, dtype=np.float32)) ** 2
""",
        },
        "wrong": {
            "correct_samplers_variance": """\
return np.exp(log_var)
""",
            "the_std_not_the_variance": """\
return np.exp(log_var / 2)
""",
            "log_of_the_variance": """\
return 2 * log_var                                       # log Var[z], not Var[z]
""",
            "exp_of_the_square": """\
return np.exp(log_var**2)
""",
            "twice_the_variance": """\
return 2 * np.exp(log_var)
""",
            "one_number_for_all": """\
return np.exp(2 * log_var).mean()
""",
            "fourth_power": """\
return np.exp(4 * log_var)
""",
            "second_moment_not_variance": """\
return np.exp(2 * log_var) + 0.3**2                           # E[z^2] of the check's mu = 0.3
""",
            "math_exp_for_a_number_only": """\
import math
return math.exp(2 * log_var)
""",
            "variance_of_the_log_normal": """\
return np.exp(np.exp(log_var) ** 2) * (np.exp(np.exp(log_var) ** 2) - 1)
""",
            "returns_the_check_s_measurement": """\
return var_bug                                # the check's measured variances, not a function of log_var
""",
            "monte_carlo_estimate_with_the_global_rng": """\
e = np.random.standard_normal((200_000,) + np.shape(log_var))
return (np.exp(log_var) * e).var(axis=0)      # an estimate, off by ~0.3%, different at every call
""",
        },
    },
}
