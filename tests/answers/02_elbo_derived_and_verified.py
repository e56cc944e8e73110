"""Answers tried against the checks of notebooks/02_elbo_derived_and_verified.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "02-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {},
        "wrong": {
            "planted": """\
z = rng.standard_normal((S, L))
return np.mean(lg.log_likelihood(x, z, W, b, sigma))          # mean of logs, not log of mean
""",
        },
    },
    2: {
        "right": {},
        "wrong": {
            "planted": """\
best_gap = 0.5 * (np.sum(np.log(np.diag(M))) - np.linalg.slogdet(M)[1])
best_log_var = np.log(np.diag(M))[None]                       # log M_jj: the precision, not the variance
""",
        },
    },
    3: {
        "right": {},
        "wrong": {
            "planted": """\
p_mine = p.copy()
m, v = np.zeros_like(p), np.zeros_like(p)
for t, g in [(1, g1), (2, g2)]:
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    p_mine -= lr * m / (np.sqrt(v) + eps)          # no bias correction
""",
        },
    },
}
