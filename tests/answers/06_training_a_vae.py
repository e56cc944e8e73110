"""Answers tried against the checks of notebooks/06_training_a_vae.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "06-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {
            "logaddexp": """\
nll = np.sum(np.logaddexp(0, logits) - x * logits) / logits.shape[0]
dlogits = (0.5 * (1 + np.tanh(logits / 2)) - x) / logits.shape[0]        # sigmoid via tanh
""",
            "minivae_softplus_and_sigmoid": """\
from minivae.losses import sigmoid, softplus
n = len(x)
nll = float(np.mean(np.sum(softplus(logits) - x * logits, axis=1)))
dlogits = (sigmoid(logits) - x) / n
""",
            "stable_where": """\
n = logits.shape[0]
with np.errstate(over="ignore"):
    sp = np.where(logits > 0, logits + np.log1p(np.exp(-logits)), np.log1p(np.exp(logits)))
    sig = np.where(logits >= 0, 1 / (1 + np.exp(-logits)), np.exp(logits) / (1 + np.exp(logits)))
nll = (sp - x * logits).sum() / n
dlogits = (sig - x) / n
""",
            "cross_entropy_with_log_sigmoid": """\
log_p = -(np.maximum(-logits, 0) + np.log1p(np.exp(-np.abs(logits))))        # log sigmoid(l)
log_1mp = -(np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits))))       # log(1 - sigmoid(l))
nll = -np.sum(x * log_p + (1 - x) * log_1mp) / len(x)
dlogits = (np.exp(log_p) - x) / len(x)
""",
            "two_softplus_terms": """\
sp = lambda a: np.logaddexp(0.0, a)                              # softplus, stable
nll = np.sum(x * sp(-logits) + (1 - x) * sp(logits)) / logits.shape[0]
dlogits = (0.5 * (1 + np.tanh(0.5 * logits)) - x) / logits.shape[0]   # sigmoid via tanh
""",
            "scipy_expit_and_log_expit": """\
from scipy.special import expit, log_expit
nll = -np.mean(np.sum(x * log_expit(logits) + (1 - x) * log_expit(-logits), axis=1))
dlogits = (expit(logits) - x) / len(x)
""",
            "tanh_form_of_the_sigmoid": """\
n = len(logits)
nll = np.sum(np.logaddexp(0, logits) - x * logits) / n
dlogits = (0.5 * (1 + np.tanh(logits / 2)) - x) / n
""",
            "both_softplus_terms_weighted": """\
n = len(logits)
sp = lambda a: np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))
nll = np.sum(x * sp(-logits) + (1 - x) * sp(logits)) / n
dlogits = (1 / (1 + np.exp(-logits)) - x) / n
""",
        },
        "wrong": {
            "naive_log_sigmoid": """\
p = 1 / (1 + np.exp(-logits))
nll = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p)) / len(x)      # overflows for large |logits|
dlogits = (p - x) / len(x)
""",
            "clipped_probabilities": """\
p = np.clip(1 / (1 + np.exp(-logits)), 1e-7, 1 - 1e-7)               # the Keras way: caps the loss
nll = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p)) / len(x)
dlogits = (p - x) / len(x)
""",
            "softplus_overflows": """\
nll = np.sum(np.log1p(np.exp(logits)) - x * logits) / len(x)          # exp(1000) = inf
dlogits = (1 / (1 + np.exp(-logits)) - x) / len(x)
""",
            "sum_over_batch": """\
softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
nll = np.sum(softplus - x * logits)
dlogits = 1 / (1 + np.exp(-logits)) - x
""",
            "mean_over_pixels_too": """\
softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
nll = np.mean(softplus - x * logits)
dlogits = (1 / (1 + np.exp(-logits)) - x) / logits.size
""",
            "gradient_sign": """\
softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
nll = np.sum(softplus - x * logits) / len(x)
dlogits = (x - 1 / (1 + np.exp(-logits))) / len(x)
""",
            "gradient_without_1_over_n": """\
softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
nll = np.sum(softplus - x * logits) / len(x)
dlogits = 1 / (1 + np.exp(-logits)) - x
""",
            "x_times_logits_added": """\
softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
nll = np.sum(softplus + x * logits) / len(x)
dlogits = (1 / (1 + np.exp(-logits)) + x) / len(x)
""",
            "binary_pixels_only": """\
softplus = lambda l: np.maximum(l, 0) + np.log1p(np.exp(-np.abs(l)))
nll = np.sum(np.where(x == 1, softplus(-logits), softplus(logits))) / len(x)   # grey x counted as 0
dlogits = (1 / (1 + np.exp(-logits)) - (x == 1)) / len(x)
""",
            "softplus_without_the_abs": """\
softplus = np.maximum(logits, 0) + np.log1p(np.exp(-logits))      # exp(1000) at logits = -1000
nll = np.sum(softplus - x * logits) / len(x)
dlogits = (1 / (1 + np.exp(-logits)) - x) / len(x)
""",
            "logits_clipped_to_100": """\
l = np.clip(logits, -100, 100)                                   # "safe", but the loss changes
nll = np.sum(np.logaddexp(0, l) - x * l) / len(x)
dlogits = (1 / (1 + np.exp(-l)) - x) / len(x)
""",
            "mean_over_pixels_summed_over_batch": """\
softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
nll = np.sum(np.mean(softplus - x * logits, axis=1))
dlogits = (1 / (1 + np.exp(-logits)) - x) / logits.shape[1]
""",
            "binarizes_x_in_place": """\
x[...] = x > 0.5                                                 # "binarize the data", in the caller's array
softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
nll = np.sum(softplus - x * logits) / len(x)
dlogits = (1 / (1 + np.exp(-logits)) - x) / len(x)
""",
            "binarizes_a_copy_of_x": """\
xb_ = (x > 0.5).astype(float)                                 # grey pixels are targets too
n = len(x)
nll = np.sum(np.logaddexp(0, logits) - xb_ * logits) / n
dlogits = (1 / (1 + np.exp(-logits)) - xb_) / n
""",
        },
    },
    2: {
        "right": {
            "ddof_1_between": """\
mean_z = np.mean(mu, axis=0)
var_z = np.mean(np.exp(log_var), axis=0) + np.var(mu, axis=0, ddof=1)   # 5,000 images as a sample
""",
            "second_moment_minus_square": """\
mean_z = mu.sum(axis=0) / len(mu)
var_z = np.mean(np.exp(log_var) + mu**2, axis=0) - mean_z**2           # E[z^2] - E[z]^2
""",
            "sigma_squared_from_minivae": """\
sigma = minivae.sigma_from_log_var(log_var)                            # exp(log_var / 2)
mean_z = np.average(mu, axis=0)
var_z = np.average(sigma**2, axis=0) + np.average((mu - mean_z) ** 2, axis=0)
""",
            "loop_over_dimensions": """\
mean_z, var_z = np.zeros(mu.shape[1]), np.zeros(mu.shape[1])
for j in range(mu.shape[1]):
    mean_z[j] = mu[:, j].mean()
    var_z[j] = np.exp(log_var[:, j]).mean() + ((mu[:, j] - mean_z[j]) ** 2).mean()
""",
            "diagonal_of_np_cov": """\
mean_z = np.average(mu, axis=0)
var_z = np.mean(np.exp(log_var), axis=0) + np.diag(np.cov(mu, rowvar=False, bias=True))
""",
            "einsum_centred": """\
mean_z = np.einsum("nl->l", mu) / len(mu)
c = mu - mean_z
var_z = np.einsum("nl->l", np.exp(log_var) + c * c) / len(mu)
""",
            "mixture_second_moment_minus_mean_squared": """\
mean_z = np.mean(mu, axis=0)
var_z = np.mean(np.exp(log_var) + mu**2, axis=0) - mean_z**2
""",
            "float32_within_term": """\
mean_z = mu.mean(0)
var_z = np.exp(log_var.astype(np.float32)).mean(0) + mu.var(0)
""",
            "centres_mu_in_place": """\
mean_z = mu.mean(axis=0)
mu -= mean_z                                                  # the notebook's mu, centred in place
var_z = np.exp(log_var).mean(0) + (mu**2).mean(0)
""",
            "variances_computed_in_place": """\
mean_z = mu.mean(axis=0)
np.exp(log_var, out=log_var)                                  # log_var now holds the variances
var_z = log_var.mean(0) + mu.var(0)
""",
        },
        "wrong": {
            "between_inputs_only": """\
mean_z = mu.mean(axis=0)
var_z = mu.var(axis=0)                                                 # forgot the within part
""",
            "within_only": """\
mean_z = mu.mean(axis=0)
var_z = np.exp(log_var).mean(axis=0)                                   # forgot the between part
""",
            "sigma_not_squared": """\
mean_z = mu.mean(axis=0)
var_z = np.exp(0.5 * log_var).mean(axis=0) + mu.var(axis=0)
""",
            "log_var_used_as_variance": """\
mean_z = mu.mean(axis=0)
var_z = log_var.mean(axis=0) + mu.var(axis=0)
""",
            "log_var_as_log_std": """\
mean_z = mu.mean(axis=0)
var_z = np.exp(2 * log_var).mean(axis=0) + mu.var(axis=0)
""",
            "second_moment_not_centred": """\
mean_z = mu.mean(axis=0)
var_z = np.mean(np.exp(log_var) + mu**2, axis=0)                      # E[z^2], the mean not subtracted
""",
            "square_of_the_mean_sigma": """\
mean_z = mu.mean(axis=0)
var_z = np.exp(0.5 * log_var).mean(axis=0) ** 2 + mu.var(axis=0)       # (mean sigma)^2, not mean sigma^2
""",
            "wrong_axis": """\
mean_z = mu.mean(axis=1)                                               # (5000,): one per image
var_z = np.exp(log_var).mean(axis=1) + mu.var(axis=1)
""",
            "variances_summed_not_averaged": """\
mean_z = mu.mean(axis=0)
var_z = np.exp(log_var).sum(axis=0) + mu.var(axis=0)
""",
            "one_draw_per_input": """\
z = mu + np.exp(0.5 * log_var) * np.random.default_rng(0).standard_normal(mu.shape)
mean_z = mu.mean(axis=0)
var_z = z.var(axis=0)                                             # Monte Carlo, 5,000 draws: ~2% noise
""",
            "std_of_mu_not_its_variance": """\
mean_z = mu.mean(axis=0)
var_z = np.exp(log_var).mean(axis=0) + mu.std(axis=0)
""",
            "exp_of_the_mean_log_var": """\
mean_z = mu.mean(axis=0)
var_z = np.exp(log_var.mean(axis=0)) + mu.var(axis=0)             # geometric, not arithmetic, mean
""",
            "median_of_the_variances": """\
mean_z = mu.mean(0)
var_z = np.median(np.exp(log_var), axis=0) + mu.var(0)
""",
            "var_z_under_another_name": """\
mean_z = mu.mean(axis=0)
total_var = np.exp(log_var).mean(axis=0) + mu.var(axis=0)             # not named var_z
""",
        },
    },
}
