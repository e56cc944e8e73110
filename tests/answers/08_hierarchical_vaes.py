"""Answers tried against the checks of notebooks/08_hierarchical_vaes.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "08-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {},
        "wrong": {
            "planted": """\
n = delta_mu.shape[0]
return 0.5 * np.sum(delta_mu**2 + np.exp(delta_log_var) - delta_log_var - 1) / n   # forgot the prior's variance
""",
        },
    },
    2: {
        "right": {},
        "wrong": {},
    },
}
