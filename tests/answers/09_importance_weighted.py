"""Answers tried against the checks of notebooks/09_importance_weighted.ipynb (see tests/grading.py).

ANSWERS[k] holds exercise k (nbgrader grade_id "09-exercise-{k}"): "right" answers must
pass its check, "wrong" ones must fail it. Each answer is the code that replaces the
exercise's ### BEGIN SOLUTION ... ### END SOLUTION region.
"""

ANSWERS = {
    1: {
        "right": {
            "scipy_logsumexp": """\
return logsumexp(log_w, axis=0) - np.log(log_w.shape[0])
""",
            "logsumexp_with_b": """\
return logsumexp(log_w, axis=0, b=1 / len(log_w))
""",
            "logaddexp_reduce": """\
return np.logaddexp.reduce(log_w, axis=0) - np.log(len(log_w))
""",
            "loop_over_columns": """\
out = np.empty(log_w.shape[1])
for n in range(log_w.shape[1]):
    column = log_w[:, n]
    m = column.max()
    out[n] = m + np.log(np.sum(np.exp(column - m)) / len(column))
return out
""",
            "log1p_of_the_rest": """\
m = np.max(log_w, axis=0)                                         # (N,)
rest = np.sum(np.exp(log_w - m), axis=0) - 1.0                    # the max's own term is exp(0) = 1
return m + np.log1p(rest) - np.log(log_w.shape[0])
""",
            "sorted_columns": """\
a = np.sort(log_w, axis=0)                                        # ascending: the max in the last row
top = a[-1]
return top + np.log(np.exp(a - top).sum(axis=0) / len(a))
""",
            "logsumexp_minus_log_len": """\
return logsumexp(log_w, axis=0) - np.log(len(log_w))
""",
        },
        "wrong": {
            "planted": """\
return log_w.mean(axis=0)                                   # the average of log w: the ELBO, not L_k
""",
            "exp_then_log": """\
return np.log(np.mean(np.exp(log_w), axis=0))               # underflows at -5000, overflows at +750
""",
            "missing_log_k": """\
return logsumexp(log_w, axis=0)                             # log of the sum, not of the mean
""",
            "global_max_shift": """\
m = log_w.max()                                             # one maximum for all columns
return m + np.log(np.mean(np.exp(log_w - m), axis=0))
""",
            "shift_not_added_back": """\
m = log_w.max(axis=0)
return np.log(np.mean(np.exp(log_w - m), axis=0))           # forgot + m
""",
            "divides_by_N_not_k": """\
return logsumexp(log_w, axis=0) - np.log(log_w.shape[1])    # the number of examples, not of samples
""",
            "wrong_axis": """\
return logsumexp(log_w, axis=1) - np.log(log_w.shape[1])    # over the examples
""",
            "max_only": """\
return log_w.max(axis=0)                                    # the best sample alone
""",
            "shifts_the_caller_s_array_in_place": """\
m = log_w.max(axis=0)
log_w -= m                                                        # changes the caller's log weights
return m + np.log(np.mean(np.exp(log_w), axis=0))
""",
            "k_from_the_number_of_columns": """\
m = log_w.max(axis=0)
return m + np.log(np.sum(np.exp(log_w - m), axis=0)) - np.log(log_w.shape[1])   # N, not k
""",
            "float32_exponentials": """\
m = log_w.max(axis=0)
return m + np.log(np.mean(np.exp((log_w - m).astype(np.float32)), axis=0))
""",
            "sorts_the_caller_s_array_in_place": """\
log_w.sort(axis=0)                                               # reorders the caller's rows: w_s no longer pairs with z_s
top = log_w[-1]
return top + np.log(np.mean(np.exp(log_w - top), axis=0))
""",
            "shift_by_the_column_mean": """\
m = log_w.mean(axis=0)                        # exact in theory; exp overflows when one weight dominates
return m + np.log(np.mean(np.exp(log_w - m), axis=0))
""",
            "shift_by_the_second_largest": """\
m = np.sort(log_w, axis=0)[-2]
return m + np.log(np.mean(np.exp(log_w - m), axis=0))
""",
        },
    },
    2: {
        "right": {
            "scipy_softmax": """\
from scipy.special import softmax
return softmax(log_w, axis=0)
""",
            "column_max_shift": """\
w = np.exp(log_w - log_w.max(axis=0, keepdims=True))
return w / w.sum(axis=0, keepdims=True)
""",
            "logaddexp_reduce": """\
return np.exp(log_w - np.logaddexp.reduce(log_w, axis=0))
""",
            "loop_over_columns": """\
out = np.empty_like(log_w, dtype=float)
for n in range(log_w.shape[1]):
    w = np.exp(log_w[:, n] - log_w[:, n].max())
    out[:, n] = w / w.sum()
return out
""",
            "through_iw_bound": """\
return np.exp(log_w - iw_bound(log_w) - np.log(len(log_w)))      # log sum_t w_t = L_k + log k
""",
            "divide_after_column_shift_in_a_copy": """\
e = np.exp(log_w - log_w.max(axis=0, keepdims=True))
e /= e.sum(axis=0, keepdims=True)
return e
""",
            "min_shift_by_max_in_place_on_a_copy": """\
a = np.array(log_w, dtype=np.float64)
a -= a.max(axis=0, keepdims=True)
np.exp(a, out=a)
a /= a.sum(axis=0, keepdims=True)
return a
""",
        },
        "wrong": {
            "unshifted_exp_then_normalize": """\
w = np.exp(log_w)                                           # 0 at -5000, inf at +750: 0/0 and inf/inf
return w / w.sum(axis=0)
""",
            "global_max_shift": """\
w = np.exp(log_w - log_w.max())                             # one maximum: the -5000 column becomes 0/0
return w / w.sum(axis=0)
""",
            "wrong_axis": """\
w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
return w / w.sum(axis=1, keepdims=True)                     # normalized over the examples
""",
            "not_normalized": """\
return np.exp(log_w - log_w.max(axis=0))                    # shifted, never divided by the sum
""",
            "log_mean_not_log_sum": """\
return np.exp(log_w - (logsumexp(log_w, axis=0) - np.log(len(log_w))))   # k times w~
""",
            "normalized_over_everything": """\
return np.exp(log_w - logsumexp(log_w))                     # one sum over all examples
""",
            "log_of_the_weights": """\
return log_w - logsumexp(log_w, axis=0)                     # log w~, not w~
""",
            "normalizes_the_caller_s_array_in_place": """\
log_w -= logsumexp(log_w, axis=0)                                 # changes the caller's log weights
return np.exp(log_w)
""",
            "divided_by_the_mean_not_the_sum": """\
return np.exp(log_w - iw_bound(log_w))                            # w / mean(w): sums to k
""",
            "float32_weights": """\
return np.exp(log_w - logsumexp(log_w, axis=0)).astype(np.float32)
""",
            "shift_by_the_column_mean": """\
e = np.exp(log_w - log_w.mean(axis=0))        # inf / inf = nan when one weight dominates
return e / e.sum(axis=0)
""",
            "divided_by_the_iw_bound": """\
return np.exp(log_w - iw_bound(log_w))        # log(1/k sum w), not log(sum w): k times too large
""",
        },
    },
}
