"""Answers tried against the checks of notebooks/05_checking_gradients.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "05-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {},
        "wrong": {
            "planted": """\
u = np.finfo(np.float64).eps / 2
h_star = np.sqrt(u)                                  # the forward difference's rule, not the central one's
""",
        },
    },
    2: {
        "right": {},
        "wrong": {
            "planted": """\
grad = np.zeros_like(x)
f0 = f()
for i in np.ndindex(x.shape):
    old = x[i]
    x[i] = old + h
    grad[i] = (f() - f0) / h                  # a forward difference
    x[i] = old
""",
        },
    },
    3: {
        "right": {},
        "wrong": {
            "planted": """\
dz = vae.decoder.backward(dlogits)
dmu, dlog_var = sampler.backward(dz)
dh = np.concatenate([dmu, dlog_var], axis=1)        # forgot the KL term's gradient
vae.encoder.backward(dh)
""",
        },
    },
}
