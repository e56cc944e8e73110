"""Time each fast form against the plain form it stands in for, at the shapes of training.

    python benchmarks/bench_fast_forms.py [--repeats 200]

- optim.Adam against fast.optim.FastAdam: one step over the 784-400-20 VAE's 652,824
  float32 parameters;
- conv.Conv2D against fast.conv.GatherConv2D: forward and backward of the conv decoder's two
  convolutions (64 -> 32 channels on 14x14, 32 -> 1 on 28x28), batch 128;
- MaxPool2D's arg-max over the first pooling layer's 2x2 windows (32 channels, 128 x 14 x 14),
  as conv.py computes it and as boolean indexing would;
- the plain loss forms minivae now uses against the in-place forms they replaced (defined
  here, for the comparison only): softplus, sigmoid, and the Bernoulli row sum, on one
  batch of logits (128, 784).

Prints the median time of each. Not a test: numbers depend on the machine and its load.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minivae import VAE                                    # noqa: E402
from minivae.activations import sigmoid                    # noqa: E402
from minivae.conv import Conv2D                            # noqa: E402
from minivae.fast.conv import GatherConv2D                 # noqa: E402
from minivae.fast.optim import FastAdam                    # noqa: E402
from minivae.losses import softplus                        # noqa: E402
from minivae.optim import Adam                             # noqa: E402


def softplus_in_place(l):
    out = np.abs(l)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(l, 0)
    return out


def sigmoid_in_place(l):
    out = np.multiply(l, 0.5)
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


def median_ms(f, repeats):
    for _ in range(max(3, repeats // 10)):
        f()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=200)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    rows = []

    vae = VAE(784, [400], 20, rng=rng)
    grads = {k: rng.standard_normal(g.shape).astype(np.float32) for k, g in vae.grads.items()}
    for name, opt in (("optim.Adam.step", Adam(vae.params)), ("fast.optim.FastAdam.step", FastAdam(vae.params))):
        rows.append((name, median_ms(lambda: opt.step(grads), a.repeats)))

    for c_in, c_out, size in ((64, 32, 14), (32, 1, 28)):
        x = rng.standard_normal((128, c_in, size, size)).astype(np.float32)
        for cls in (Conv2D, GatherConv2D):
            layer = cls(c_in, c_out, 3, np.random.default_rng(0), padding=1)
            dy = np.ones((128, c_out, size, size), np.float32)

            def step():
                layer.forward(x)
                layer.backward(dy)
            rows.append((f"{cls.__name__}({c_in} -> {c_out}, {size}x{size}) forward + backward",
                         median_ms(step, max(3, a.repeats // 20))))

    cols = rng.standard_normal((32, 4, 128 * 14 * 14)).astype(np.float32)   # first MaxPool2D's windows

    def argmax_by_max():
        y, argmax = cols[:, 0].copy(), np.zeros(cols.shape[::2], np.uint8)
        for index in range(1, 4):
            better = cols[:, index] > y
            np.maximum(argmax, better * np.uint8(index), out=argmax)
            np.maximum(y, cols[:, index], out=y)

    def argmax_by_mask():
        y, argmax = cols[:, 0].copy(), np.zeros(cols.shape[::2], np.uint8)
        for index in range(1, 4):
            better = cols[:, index] > y
            argmax[better] = index
            np.maximum(y, cols[:, index], out=y)
    rows += [("MaxPool2D arg-max as a max (conv.py)", median_ms(argmax_by_max, max(3, a.repeats // 20))),
             ("MaxPool2D arg-max as argmax[better] = index", median_ms(argmax_by_mask, max(3, a.repeats // 20)))]

    logits = (3 * rng.standard_normal((128, 784))).astype(np.float32)
    x = (rng.random((128, 784)) < 0.3).astype(np.float32)
    rows += [("softplus, plain (losses.softplus)", median_ms(lambda: softplus(logits), a.repeats)),
             ("softplus, five in-place passes", median_ms(lambda: softplus_in_place(logits), a.repeats)),
             ("sigmoid, plain (activations.sigmoid)", median_ms(lambda: sigmoid(logits), a.repeats)),
             ("sigmoid, in-place passes", median_ms(lambda: sigmoid_in_place(logits), a.repeats)),
             ("row sum np.sum(x * l, axis=-1)", median_ms(lambda: np.sum(x * logits, axis=-1), a.repeats)),
             ("row sum np.einsum", median_ms(lambda: np.einsum("...i,...i->...", x, logits), a.repeats))]
    load = open("/proc/loadavg").read().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    print(f"median of {a.repeats} repeats (conv: {max(3, a.repeats // 20)}); load average {' '.join(load)}")
    for name, ms in rows:
        print(f"  {name:58s} {ms:8.3f} ms")


if __name__ == "__main__":
    main()
