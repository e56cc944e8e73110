"""Answers tried against the checks of notebooks/07_beyond_the_basic_vae.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "07-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {},
        "wrong": {
            "planted": """\
log_each = np.stack([-gaussian_nll_per_example(toy_mu[n], toy_log_var[n], z) for n in range(3)])
return log_each.mean(axis=0)                      # mean of log densities, not log of the mean density
""",
        },
    },
    2: {
        "right": {},
        "wrong": {},
    },
}
