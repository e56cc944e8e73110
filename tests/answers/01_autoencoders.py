"""Answers tried against the checks of notebooks/01_autoencoders.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "01-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {},
        "wrong": {
            "planted": """\
value = np.mean((x - x_hat) ** 2)          # mean over pixels too: 784 times too small
dx_hat = 2 * (x_hat - x) / x.size
""",
        },
    },
    2: {
        "right": {},
        "wrong": {
            "planted": """\
V = Vt[:L].T                                                   # forgot to centre
return x @ V @ V.T
""",
        },
    },
}
