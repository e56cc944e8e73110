"""Answers tried against the checks of notebooks/06_training_a_vae.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "06-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {},
        "wrong": {
            "planted": """\
p = 1 / (1 + np.exp(-logits))
nll = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p)) / len(x)      # overflows for large |logits|
dlogits = (p - x) / len(x)
""",
        },
    },
    2: {
        "right": {},
        "wrong": {},
    },
}
