"""Answers tried against the checks of notebooks/03_reparameterization_trick.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "03-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {},
        "wrong": {
            "planted": """\
sigma = np.exp(log_var)                   # log_var treated as log sigma
dmu, dlog_var = dz, dz * eps * sigma
""",
        },
    },
    2: {
        "right": {},
        "wrong": {
            "planted": """\
g_mu_score = f(z)[:, None] * (z - mu_s)                            # forgot / sigma^2
""",
        },
    },
}
