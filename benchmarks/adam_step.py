#!/usr/bin/env python
r"""What one Adam step costs, and why the textbook form once cost 12 times FastAdam's.

    OPENBLAS_NUM_THREADS=1 python benchmarks/adam_step.py --data-dir ../shared/data/mnist

The README's model (784-400-20 Bernoulli VAE, 652,824 float32 parameters, batch 128) and
four forms of the same Adam step:

- ``expressions``: Algorithm 1 written as NumPy expressions, ``m[...] = b1 * m + (1 - b1) * g``
  and so on, each allocating new arrays: what ``optim.Adam`` was before issue 23 (defined here);
- ``m_hat arrays``: the same operations in the same order, computed in place (``out=``) into
  m, v and two arrays made once that hold m_hat and v_hat (defined here);
- ``optim.Adam``: Algorithm 1 with its last three lines in the order Kingma & Ba give for
  speed, bias corrections in two numbers, one scratch array, in place;
- ``fast.optim.FastAdam``: optim.Adam with tiny moments flushed every 100 steps (what
  ``minivae.train.train`` and the command line use).

Part 1 times the three alone, step after step (the way ``bench_fast_forms.py`` and the issue
timed them), with the minor page faults and numpy's traced allocations of a step. Part 2
trains the model with the README's loop and ``optim.Adam`` and, every few hundred steps,
counts the entries of m and v that are float32 subnormals (nonzero, below
np.finfo(float32).tiny = 1.18e-38) and times a step of each form from the state reached, and
of ``optim.Adam`` from the same state with its subnormals set to zero. Part 3 splits one
step of the README's loop into its pieces; part 4 times float32 arithmetic on subnormals.
Forms alternate within each round and the order reverses every round; every figure is a
median of CPU time (time.process_time: user and system time, so the kernel's work for page
faults counts, and other processes' work does not; run with OPENBLAS_NUM_THREADS=1). Not a
test: times depend on the machine.
"""
import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import minivae                                             # noqa: E402
from minivae.datasets import binarize, load_dataset        # noqa: E402
from minivae.fast.optim import FastAdam                    # noqa: E402
from minivae.optim import Adam, check_grads                # noqa: E402

TINY = np.finfo(np.float32).tiny


class ExpressionAdam(Adam):
    """optim.Adam as it was before issue 23: Algorithm 1 as NumPy expressions."""

    def step(self, grads):
        check_grads(self.params, grads)
        self.t += 1
        b1, b2, t = self.beta1, self.beta2, self.t
        for k, p in self.params.items():
            g, m, v = grads[k], self.m[k], self.v[k]
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g * g
            m_hat = m / (1 - b1**t)
            v_hat = v / (1 - b2**t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class MHatArraysAdam(Adam):
    """Algorithm 1 in place, with m_hat and v_hat written into two arrays per parameter."""

    def __init__(self, params, **options):
        super().__init__(params, **options)
        self._a = {k: np.empty_like(p) for k, p in params.items()}
        self._b = {k: np.empty_like(p) for k, p in params.items()}

    def step(self, grads):
        check_grads(self.params, grads)
        self.t += 1
        t = self.t
        b1, b2, lr, eps = float(self.beta1), float(self.beta2), float(self.lr), float(self.eps)
        for k, p in self.params.items():
            g, m, v, a, b = grads[k], self.m[k], self.v[k], self._a[k], self._b[k]
            m *= b1
            m += np.multiply(1 - b1, g, out=a)
            v *= b2
            v += np.multiply(np.multiply(1 - b2, g, out=b), g, out=b)
            m_hat = np.divide(m, 1 - b1**t, out=a)
            v_hat = np.divide(v, 1 - b2**t, out=b)
            denom = np.add(np.sqrt(v_hat, out=b), eps, out=b)
            p -= np.divide(np.multiply(lr, m_hat, out=a), denom, out=a)


FORMS = {"expressions": ExpressionAdam, "m_hat arrays": MHatArraysAdam, "optim.Adam": Adam,
         "FastAdam": FastAdam}


def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def from_state(make, params, m, v, t):
    """A new optimizer of class make over copies of params, in the state (m, v, t)."""
    opt = make({k: p.copy() for k, p in params.items()}, lr=1e-3)
    for k in params:
        opt.m[k][...], opt.v[k][...] = m[k], v[k]
    opt.t = t
    return opt


def time_forms(opts, grads, rounds, steps):
    """{name: (median ms per step, median page faults per step)}, forms alternating."""
    ms, pf = {n: [] for n in opts}, {n: [] for n in opts}
    for r in range(rounds):
        for name in (list(opts) if r % 2 == 0 else list(opts)[::-1]):
            f0, t0 = faults(), time.process_time()
            for _ in range(steps):
                opts[name].step(grads)
            ms[name].append(1e3 * (time.process_time() - t0) / steps)
            pf[name].append((faults() - f0) / steps)
    return {n: (float(np.median(ms[n])), float(np.median(pf[n]))) for n in opts}


def traced_peak_mb(opt, grads):
    opt.step(grads)
    tracemalloc.start()
    opt.step(grads)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def subnormals(d):
    return sum(int(np.count_nonzero((a != 0) & (np.abs(a) < TINY))) for a in d.values())


def flushed(d):
    return {k: np.where(np.abs(a) < TINY, np.zeros_like(a), a) for k, a in d.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None, help="full MNIST's IDX files (default: the embedded "
                   "10,000-image subset, as the README's snippet)")
    p.add_argument("--train-steps", type=int, default=3000, help="README-loop steps in part 2")
    p.add_argument("--every", type=int, default=500, help="part 2 measures every N steps")
    p.add_argument("--rounds", type=int, default=7)
    a = p.parse_args(argv)
    info = np.finfo(np.float32)
    print(f"float32: smallest normal {info.tiny:.3g}, smallest subnormal {info.smallest_subnormal:.3g}")

    rng = np.random.default_rng(0)
    vae = minivae.VAE(784, hidden=[400], latent_dim=20, rng=rng)
    n_params = sum(q.size for q in vae.params.values())
    grads = {k: (1e-2 * rng.standard_normal(q.shape)).astype(np.float32) for k, q in vae.params.items()}
    zeros = {k: np.zeros_like(q) for k, q in vae.params.items()}
    print(f"\n1. one step alone, step after step ({n_params:,} parameters, {a.rounds} rounds of 20 steps)")
    opts = {n: from_state(make, vae.params, zeros, zeros, 0) for n, make in FORMS.items()}
    timed = time_forms(opts, grads, a.rounds, 20)
    for name, (ms, pf) in timed.items():
        peak = traced_peak_mb(from_state(FORMS[name], vae.params, zeros, zeros, 0), grads)
        print(f"   {name:12s} {ms:6.2f} ms/step  {pf:6.0f} page faults/step  {peak:5.2f} MB of arrays allocated")

    data = load_dataset("mnist" if a.data_dir else "mnist-subset", data_dir=a.data_dir)
    n = len(data.x_train)
    print(f"\n2. during training: the README's loop with optim.Adam on {n:,} images, batch 128; "
          f"each form then steps {a.rounds} x 5 times from the state reached")
    print("   step  | subnormal m | subnormal v | in the loop | expressions (page faults) | m_hat arrays "
          "| optim.Adam | flushed | FastAdam  (ms/step)")
    opt = Adam(vae.params, lr=1e-3)
    pieces = {k: [] for k in ("batch", "loss", "backward", "step")}
    for step in range(1, a.train_steps + 1):
        t0 = time.process_time()
        x = binarize(data.x_train[rng.integers(0, n, 128)], rng)
        t1 = time.process_time()
        vae.loss(x, rng=rng)
        t2 = time.process_time()
        vae.backward()
        t3 = time.process_time()
        opt.step(vae.grads)
        t4 = time.process_time()
        for key, dt in zip(pieces, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            pieces[key].append(1e3 * dt)
        if step == 1 or step % a.every == 0:
            g = {k: q.copy() for k, q in vae.grads.items()}
            forms = {name: from_state(make, vae.params, opt.m, opt.v, opt.t) for name, make in FORMS.items()}
            forms["flushed"] = from_state(Adam, vae.params, flushed(opt.m), flushed(opt.v), opt.t)
            t = time_forms(forms, g, a.rounds, 5)
            loop = np.median(pieces["step"][-a.every:])
            print(f"   {step:5d} | {subnormals(opt.m):11,d} | {subnormals(opt.v):11,d} | {loop:11.2f} | "
                  f"{t['expressions'][0]:11.2f} ({t['expressions'][1]:5.0f}) | {t['m_hat arrays'][0]:12.2f} | "
                  f"{t['optim.Adam'][0]:10.2f} | "
                  f"{t['flushed'][0]:7.2f} | "
                  f"{t['FastAdam'][0]:8.2f}")
    print(f"\n3. one step of the README's loop, medians over the {a.train_steps} steps above:")
    total = sum(np.median(v) for v in pieces.values())
    for key, v in pieces.items():
        print(f"   {key:9s} {np.median(v):6.2f} ms  ({np.median(v) / total:4.0%})")

    print(f"\n4. float32 arithmetic on {n_params:,} entries, all normal (1.0) against all subnormal (1e-39), ms:")
    out = np.empty(n_params, np.float32)
    b = np.full(n_params, 1e-3, np.float32)
    for name, f in (("a * 0.9", lambda a: np.multiply(a, 0.9, out=out)), ("a + a", lambda a: np.add(a, a, out=out)),
                    ("sqrt(a)", lambda a: np.sqrt(a, out=out)), ("a / b", lambda a: np.divide(a, b, out=out))):
        ms = {}
        for value in (1.0, 1e-39):
            a_ = np.full(n_params, value, np.float32)
            runs = []
            for _ in range(a.rounds):
                t0 = time.process_time()
                for _ in range(20):
                    f(a_)
                runs.append(1e3 * (time.process_time() - t0) / 20)
            ms[value] = float(np.median(runs))
        print(f"   {name:8s} normal {ms[1.0]:.3f}  subnormal {ms[1e-39]:.3f}  ({ms[1e-39] / ms[1.0]:.1f}x)")


if __name__ == "__main__":
    main()
