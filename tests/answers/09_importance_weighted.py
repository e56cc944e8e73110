"""Answers tried against the checks of notebooks/09_importance_weighted.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "09-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {},
        "wrong": {
            "planted": """\
return log_w.mean(axis=0)                                   # the average of log w: the ELBO, not L_k
""",
        },
    },
    2: {
        "right": {},
        "wrong": {},
    },
}
