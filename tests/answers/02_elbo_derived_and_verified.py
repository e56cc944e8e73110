"""Answers tried against the checks of notebooks/02_elbo_derived_and_verified.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "02-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {   # naive_log_px(x, S, rng): bias, spread, unbiased at S = 10,000 (5 SE), finite far away
        "right": {
            "normal_method": """\
z = rng.normal(0.0, 1.0, size=(S, L))
return logsumexp(lg.log_likelihood(x, z, W, b, sigma)) - np.log(S)
""",
            "shift_by_the_max_by_hand": """\
ll = lg.log_likelihood(x, rng.standard_normal((S, L)), W, b, sigma)     # (S,)
top = ll.max()
return top + np.log(np.mean(np.exp(ll - top)))
""",
            "logaddexp_reduce": """\
z = rng.standard_normal((S, L))
return np.logaddexp.reduce(lg.log_likelihood(x, z, W, b, sigma)) - np.log(S)
""",
            "logsumexp_with_weights": """\
z = rng.standard_normal((S, L))
return logsumexp(lg.log_likelihood(x, z, W, b, sigma), b=np.full(S, 1.0 / S))
""",
            "multivariate_normal_draws": """\
z = rng.multivariate_normal(np.zeros(L), np.eye(L), size=S)      # (S, L) from the prior
return logsumexp(lg.log_likelihood(x, z, W, b, sigma)) - np.log(S)
""",
            "running_logaddexp_loop": """\
total = -np.inf
for _ in range(S):
    total = np.logaddexp(total, lg.log_likelihood(x, rng.standard_normal((1, L)), W, b, sigma)[0])
return total - np.log(S)
""",
            "default_rng_of_the_generator_and_weights": """\
z = np.random.default_rng(rng).standard_normal((S, W.shape[1]))   # default_rng(a Generator) is that Generator
return logsumexp(lg.log_likelihood(x, z, W, b, sigma), b=1.0 / S)
""",
        },
        "wrong": {
            "mean_of_logs": """\
z = rng.standard_normal((S, L))
return np.mean(lg.log_likelihood(x, z, W, b, sigma))          # mean of logs, not log of mean
""",
            "exp_then_log": """\
z = rng.standard_normal((S, L))
return np.log(np.mean(np.exp(lg.log_likelihood(x, z, W, b, sigma))))   # underflows far away
""",
            "forgot_minus_log_S": """\
z = rng.standard_normal((S, L))
return logsumexp(lg.log_likelihood(x, z, W, b, sigma))
""",
            "plus_log_S": """\
z = rng.standard_normal((S, L))
return logsumexp(lg.log_likelihood(x, z, W, b, sigma)) + np.log(S)
""",
            "same_seed_every_call": """\
z = np.random.default_rng(0).standard_normal((S, L))        # the same z at every call
return logsumexp(lg.log_likelihood(x, z, W, b, sigma)) - np.log(S)
""",
            "samples_from_the_posterior": """\
z = mean + rng.standard_normal((S, L)) @ np.linalg.cholesky(cov).T   # not the prior
return logsumexp(lg.log_likelihood(x, z, W, b, sigma)) - np.log(S)
""",
            "prior_density_not_likelihood": """\
z = rng.standard_normal((S, L))
return logsumexp(lg.log_prior(z)) - np.log(S)
""",
            "numpy_global_rng_not_the_argument": """\
z = np.random.standard_normal((S, L))                          # ignores rng
return logsumexp(lg.log_likelihood(x, z, W, b, sigma)) - np.log(S)
""",
            "divides_by_S_minus_1": """\
z = rng.standard_normal((S, L))
return logsumexp(lg.log_likelihood(x, z, W, b, sigma)) - np.log(S - 1)
""",
            "S_ignored_1000_draws": """\
z = rng.standard_normal((1000, L))                             # a fixed number of draws, not S
return logsumexp(lg.log_likelihood(x, z, W, b, sigma)) - np.log(1000)
""",
            "uniform_draws": """\
z = rng.random((S, L))                                         # U[0, 1), not the prior
return logsumexp(lg.log_likelihood(x, z, W, b, sigma)) - np.log(S)
""",
            "shift_by_the_mean_log_likelihood": """\
z = rng.standard_normal((S, L))
ll = lg.log_likelihood(x, z, W, b, sigma)
m = ll.mean()                                                  # not the max: exp overflows far away
return m + np.log(np.mean(np.exp(ll - m)))
""",
        },
    },
    2: {   # best_log_var (1, L) vs -log diag(M) at rtol 1e-9; best_gap vs KL* at rtol 1e-9
        "right": {
            "cholesky_log_det": """\
chol = np.linalg.cholesky(M)
best_gap = 0.5 * (np.sum(np.log(np.diag(M))) - 2 * np.sum(np.log(np.diag(chol))))
best_log_var = np.log(1 / np.diag(M)).reshape(1, -1)
""",
            "det_of_the_precision": """\
best_log_var = -np.log(np.diag(M))[None, :]
best_gap = 0.5 * np.log(np.prod(np.diag(M)) / np.linalg.det(M))
""",
            "library_gap_at_the_optimum": """\
best_log_var = -np.log(np.diag(M))[None]
best_gap = lg.kl_to_posterior(x, mean, best_log_var, W, b, sigma)[0]
""",
            "library_gap_kept_as_an_array": """\
best_log_var = (1 / np.diag(M)).reshape(1, L)
best_log_var = np.log(best_log_var)
best_gap = lg.kl_to_posterior(x, mean, best_log_var, W, b, sigma)        # shape (1,)
""",
            "loop_over_dimensions": """\
best_log_var = np.zeros((1, L))
total = 0.0
for j in range(L):
    best_log_var[0, j] = -np.log(M[j, j])
    total += np.log(M[j, j])
best_gap = 0.5 * (total - np.log(np.linalg.det(M)))
""",
            "schur_complement_of_the_covariance": """\
c = cov
cond = np.array([c[0, 0] - c[0, 1] ** 2 / c[1, 1], c[1, 1] - c[0, 1] ** 2 / c[0, 0]])
best_log_var = np.log(cond)[None]                            # conditional variances = 1 / M_jj
rho2 = c[0, 1] ** 2 / (c[0, 0] * c[1, 1])
best_gap = -0.5 * np.log1p(-rho2)
""",
            "log_of_reciprocal_and_eigenvalues": """\
best_log_var = np.log(1.0 / np.diag(M)).reshape(1, -1)
best_gap = 0.5 * (np.log(np.diag(M)).sum() - np.log(np.linalg.eigvalsh(M)).sum())
""",
            "log_det_of_the_covariance": """\
best_gap = 0.5 * (np.log(np.diag(M)).sum() + np.linalg.slogdet(cov)[1])    # log det M = -log det cov
best_log_var = -np.log(np.diag(M))[None, :]
""",
            "cholesky_factor_named_L": """\
L = np.linalg.cholesky(M)                                    # M = L L^T (L is also the latent size)
best_gap = 0.5 * (np.sum(np.log(np.diag(M))) - 2 * np.sum(np.log(np.diag(L))))
best_log_var = -np.log(np.diag(M))[None]
""",
            "q_std_named_sigma": """\
sigma = 1 / np.sqrt(np.diag(M))                              # q's standard deviations s_j (not the model's)
best_log_var = np.log(sigma**2)[None]
best_gap = 0.5 * (np.sum(np.log(np.diag(M))) - np.linalg.slogdet(M)[1])
""",
            "q_named_mu_and_log_var_gap_from_the_library": """\
mu, log_var = mean, -np.log(np.diag(M))[None]                # q's mean and log-variances, (1, L) each
best_log_var = log_var
best_gap = lg.kl_to_posterior(x, mu, log_var, W, b, sigma)[0]
""",
        },
        "wrong": {
            "precision_not_variance": """\
best_gap = 0.5 * (np.sum(np.log(np.diag(M))) - np.linalg.slogdet(M)[1])
best_log_var = np.log(np.diag(M))[None]                       # log M_jj: the precision, not the variance
""",
            "marginal_variances_with_library_gap": """\
best_log_var = np.log(np.diag(cov))[None]                     # the marginals, not 1 / M_jj
best_gap = lg.kl_to_posterior(x, mean, best_log_var, W, b, sigma)[0]
""",
            "log_det_of_the_diagonal": """\
best_log_var = -np.log(np.diag(M))[None]
best_gap = 0.5 * (np.sum(np.log(np.diag(M))) - np.sum(np.log(np.diag(M))))   # log det M as the log of its diagonal
""",
            "missing_one_half": """\
best_log_var = -np.log(np.diag(M))[None]
best_gap = np.sum(np.log(np.diag(M))) - np.linalg.slogdet(M)[1]
""",
            "gap_sign_flipped": """\
best_log_var = -np.log(np.diag(M))[None]
best_gap = 0.5 * (np.linalg.slogdet(M)[1] - np.sum(np.log(np.diag(M))))
""",
            "log_std_not_log_var": """\
best_log_var = -0.5 * np.log(np.diag(M))[None]                # log s_j, not log s_j^2
best_gap = 0.5 * (np.sum(np.log(np.diag(M))) - np.linalg.slogdet(M)[1])
""",
            "slogdet_sign_not_log_det": """\
best_log_var = -np.log(np.diag(M))[None]
best_gap = 0.5 * (np.sum(np.log(np.diag(M))) - np.linalg.slogdet(M)[0])   # [0] is the sign
""",
            "gap_with_the_marginal_variances": """\
best_log_var = -np.log(np.diag(M))[None]
q_var = np.diag(cov)                                         # the marginals in the gap
best_gap = 0.5 * (np.sum(q_var * np.diag(M)) - L - np.sum(np.log(q_var)) - np.linalg.slogdet(M)[1])
""",
            "log_var_shape_L_by_1": """\
best_log_var = -np.log(np.diag(M))[:, None]                  # (L, 1), not (1, L)
best_gap = 0.5 * (np.sum(np.log(np.diag(M))) - np.linalg.slogdet(M)[1])
""",
            "covariance_log_det_with_the_precision_s_sign": """\
best_gap = 0.5 * (np.log(np.diag(M)).sum() - np.linalg.slogdet(cov)[1])
best_log_var = -np.log(np.diag(M))[None, :]
""",
            "best_log_var_left_unset": """\
best_gap = 0.5 * (np.sum(np.log(np.diag(M))) - np.linalg.slogdet(M)[1])   # best_log_var forgotten
""",
            "the_stub_unchanged": """\
raise NotImplementedError()
""",
        },
    },
    3: {   # p_mine after two Adam steps vs minivae.Adam at rtol 1e-9
        "right": {
            "in_place_on_p": """\
m, v = np.zeros_like(p), np.zeros_like(p)
for t, g in [(1, g1), (2, g2)]:
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    p -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
p_mine = p                                                    # p itself, stepped in place
""",
            "kingmas_efficient_form": """\
p_mine = p.copy()
m, v = np.zeros(3), np.zeros(3)
for t, g in enumerate([g1, g2], start=1):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    eps_t = eps * np.sqrt(1 - beta2**t)                       # the same update, rearranged
    p_mine = p_mine - lr_t * m / (np.sqrt(v) + eps_t)
""",
            "unrolled": """\
m1, v1 = (1 - beta1) * g1, (1 - beta2) * g1**2
p1 = p - lr * (m1 / (1 - beta1)) / (np.sqrt(v1 / (1 - beta2)) + eps)
m2, v2 = beta1 * m1 + (1 - beta1) * g2, beta2 * v1 + (1 - beta2) * g2**2
p_mine = p1 - lr * (m2 / (1 - beta1**2)) / (np.sqrt(v2 / (1 - beta2**2)) + eps)
""",
            "in_place_moments": """\
p_mine = np.array(p, dtype=float)
m, v = np.zeros_like(p), np.zeros_like(p)
for t, g in ((1, g1), (2, g2)):
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * np.square(g)
    p_mine -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
""",
            "the_library_adam": """\
state = {"p": p.copy()}
opt = Adam(state, lr=lr, beta1=beta1, beta2=beta2, eps=eps)
opt.step({"p": g1})
opt.step({"p": g2})
p_mine = state["p"]
""",
            "sqrt_v_over_sqrt_of_the_correction": """\
p_mine = p.copy()
m = v = 0.0
for t, g in ((1, g1), (2, g2)):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g ** 2
    p_mine = p_mine - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v) / np.sqrt(1 - beta2 ** t) + eps)
""",
            "parameter_named_x": """\
x = p.copy()                                                  # the parameter, stepped
m, v = np.zeros(3), np.zeros(3)
for t, g in [(1, g1), (2, g2)]:
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    x = x - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
p_mine = x
""",
        },
        "wrong": {
            "no_bias_correction": """\
p_mine = p.copy()
m, v = np.zeros_like(p), np.zeros_like(p)
for t, g in [(1, g1), (2, g2)]:
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    p_mine -= lr * m / (np.sqrt(v) + eps)          # no bias correction
""",
            "eps_inside_the_square_root": """\
p_mine = p.copy()
m, v = np.zeros_like(p), np.zeros_like(p)
for t, g in [(1, g1), (2, g2)]:
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    p_mine -= lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) + eps)
""",
            "forgot_eps": """\
p_mine = p.copy()
m, v = np.zeros_like(p), np.zeros_like(p)
for t, g in [(1, g1), (2, g2)]:
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    p_mine -= lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t))
""",
            "one_step_only": """\
m, v = (1 - beta1) * g1, (1 - beta2) * g1**2
p_mine = p - lr * (m / (1 - beta1)) / (np.sqrt(v / (1 - beta2)) + eps)
""",
            "betas_swapped": """\
p_mine = p.copy()
m, v = np.zeros_like(p), np.zeros_like(p)
for t, g in [(1, g1), (2, g2)]:
    m = beta2 * m + (1 - beta2) * g
    v = beta1 * v + (1 - beta1) * g**2
    p_mine -= lr * (m / (1 - beta2**t)) / (np.sqrt(v / (1 - beta1**t)) + eps)
""",
            "bias_correction_one_step_behind": """\
p_mine = p.copy()
m, v = np.zeros_like(p), np.zeros_like(p)
for t, g in [(1, g1), (2, g2)]:
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    p_mine -= lr * (m / (1 - beta1**(t + 1))) / (np.sqrt(v / (1 - beta2**(t + 1))) + eps)
""",
            "copied_before_stepping_in_place": """\
p_mine = p.copy()                                             # taken before the steps
m, v = np.zeros_like(p), np.zeros_like(p)
for t, g in [(1, g1), (2, g2)]:
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    p -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
""",
            "squared_gradient_in_the_first_moment": """\
p_mine = p.copy()
m, v = np.zeros_like(p), np.zeros_like(p)
for t, g in [(1, g1), (2, g2)]:
    m = beta1 * m + (1 - beta1) * g**2
    v = beta2 * v + (1 - beta2) * g**2
    p_mine -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
""",
            "plain_gradient_steps": """\
p_mine = p - lr * g1 - lr * g2
""",
            "float32_moment_buffers": """\
p_mine = p.copy()
m, v = np.zeros(3, np.float32), np.zeros(3, np.float32)       # float32 moments, kept in place
for t, g in [(1, g1), (2, g2)]:
    m[:] = beta1 * m + (1 - beta1) * g
    v[:] = beta2 * v + (1 - beta2) * g**2
    p_mine -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
""",
            "beta1_in_both_bias_corrections": """\
p_mine = p.copy()
m, v = np.zeros_like(p), np.zeros_like(p)
for t, g in [(1, g1), (2, g2)]:
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    p_mine -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta1**t)) + eps)
""",
            "step_counter_from_zero_clipped": """\
p_mine = p.copy()
m, v = np.zeros_like(p), np.zeros_like(p)
for t, g in enumerate([g1, g2]):                              # t = 0, 1
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    tt = max(t, 1)
    p_mine -= lr * (m / (1 - beta1**tt)) / (np.sqrt(v / (1 - beta2**tt)) + eps)
""",
            "efficient_form_with_eps_not_rescaled": """\
p_mine = p.copy()
m, v = np.zeros(3), np.zeros(3)
for t, g in enumerate([g1, g2], start=1):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    p_mine = p_mine - lr_t * m / (np.sqrt(v) + eps)           # Kingma's eps-hat is not eps
""",
            "steps_p_in_place_but_p_mine_never_set": """\
m, v = np.zeros_like(p), np.zeros_like(p)
for t, g in [(1, g1), (2, g2)]:
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    p -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)   # p_mine = p forgotten
""",
        },
    },
    4: {   # one_sample_elbo(...) (S,): log p(x) at the posterior (rtol 1e-10), ELBO on average (4 SE)
        "right": {
            "densities_written_out": """\
log_q = -0.5 * np.sum(np.log(2 * np.pi) + log_var + (z - mu) ** 2 / np.exp(log_var), axis=1)
return lg.log_likelihood(x, z, W, b, sigma) + lg.log_prior(z) - log_q
""",
            "eq_3b_rearranged": """\
log_q = -gaussian_nll_per_example(mu, log_var, z)
return lg.log_marginal(x, W, b, sigma)[0] - (log_q - lg.log_posterior(z, x, W, b, sigma))
""",
            "scipy_norm_logpdf": """\
from scipy.stats import norm
log_q = norm.logpdf(z, loc=mu, scale=np.exp(0.5 * log_var)).sum(axis=1)
return lg.log_likelihood(x, z, W, b, sigma) + lg.log_prior(z) - log_q
""",
            "loop_over_samples": """\
out = np.empty(len(z))
for s in range(len(z)):
    zs = z[s:s + 1]
    out[s] = (lg.log_likelihood(x, zs, W, b, sigma)[0] + lg.log_prior(zs)[0]
              + gaussian_nll_per_example(mu, log_var, zs)[0])
return out
""",
            "scipy_multivariate_normal": """\
from scipy.stats import multivariate_normal
log_q = multivariate_normal(mean=mu[0], cov=np.diag(np.exp(log_var[0]))).logpdf(z)   # (S,)
return lg.log_likelihood(x, z, W, b, sigma) + lg.log_prior(z) - np.atleast_1d(log_q)
""",
            "nll_with_mean_and_point_swapped": """\
return (lg.log_likelihood(x, z, W, b, sigma) + lg.log_prior(z)
        + gaussian_nll_per_example(z, log_var, mu))            # (z - mu)^2 = (mu - z)^2
""",
        },
        "wrong": {
            "plus_log_q": """\
log_q = -gaussian_nll_per_example(mu, log_var, z)
return lg.log_likelihood(x, z, W, b, sigma) + lg.log_prior(z) + log_q
""",
            "forgot_the_prior": """\
log_q = -gaussian_nll_per_example(mu, log_var, z)
return lg.log_likelihood(x, z, W, b, sigma) - log_q
""",
            "posterior_in_place_of_q": """\
return lg.log_likelihood(x, z, W, b, sigma) + lg.log_prior(z) - lg.log_posterior(z, x, W, b, sigma)
""",
            "log_var_as_log_sigma": """\
log_q = -gaussian_nll_per_example(mu, 2 * log_var, z)         # exp(log_var) used as sigma
return lg.log_likelihood(x, z, W, b, sigma) + lg.log_prior(z) - log_q
""",
            "batch_mean_of_log_q": """\
log_q = -np.mean(gaussian_nll_per_example(mu, log_var, z))     # one number for all samples
return lg.log_likelihood(x, z, W, b, sigma) + lg.log_prior(z) - log_q
""",
            "forgot_log_2pi": """\
log_q = -0.5 * np.sum(log_var + (z - mu) ** 2 / np.exp(log_var), axis=1)
return lg.log_likelihood(x, z, W, b, sigma) + lg.log_prior(z) - log_q
""",
            "q_evaluated_at_its_mean": """\
log_q = -gaussian_nll_per_example(mu, log_var, np.repeat(mu, len(z), axis=0))
return lg.log_likelihood(x, z, W, b, sigma) + lg.log_prior(z) - log_q
""",
            "log_q_missing_one_half_on_log_var": """\
log_q = -0.5 * np.sum((z - mu) ** 2 / np.exp(log_var) + np.log(2 * np.pi), axis=1) - np.sum(log_var, axis=1)
return lg.log_likelihood(x, z, W, b, sigma) + lg.log_prior(z) - log_q
""",
            "log_q_with_std_not_variance": """\
s = np.exp(0.5 * log_var)
log_q = -0.5 * np.sum((z - mu) ** 2 / s + log_var + np.log(2 * np.pi), axis=1)    # / sigma, not sigma^2
return lg.log_likelihood(x, z, W, b, sigma) + lg.log_prior(z) - log_q
""",
            "likelihood_at_the_mean_of_q": """\
return (lg.log_likelihood(x, np.broadcast_to(mu, z.shape), W, b, sigma) + lg.log_prior(z)
        + gaussian_nll_per_example(mu, log_var, z))
""",
        },
    },
}
