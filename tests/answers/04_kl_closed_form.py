"""Answers tried against the checks of notebooks/04_kl_closed_form.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "04-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {},
        "wrong": {
            "planted": """\
n = mu.shape[0]
kl = 0.5 * np.sum(mu**2 + np.exp(log_var) - log_var - 1) / n
dmu = mu / n
dlog_var = (1 - np.exp(log_var)) / (2 * n)                 # sign error
""",
        },
    },
    2: {
        "right": {},
        "wrong": {
            "planted": """\
mu_beta = np.linalg.solve(W.T @ W / sigma**2 + beta * np.eye(L2), W.T @ r / sigma**2)
v_beta = 1 / (beta + np.sum(W * W, axis=0) / sigma**2)          # beta missing in the numerator
""",
        },
    },
}
