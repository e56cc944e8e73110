#!/usr/bin/env python
r"""The README's Python snippet, the command line's training loop and PyTorch, side by side.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_readme.py --data-dir ../shared/data/mnist

Three ways to train the 784-400-20 Bernoulli VAE (ReLU, float32, Adam lr 1e-3, dynamic
binarization) on full MNIST, one epoch at a time, in one process:

- ``README``: the loop of README.md's Python snippet, read from README.md and run as it is
  written, with three substitutions: full MNIST (already loaded) for ``load_dataset("mnist-subset")``,
  an epoch's ceil(60000 / B) steps for ``range(200)``, and the batch size B for ``128``. Its setup
  lines (the VAE, ``minivae.Adam``) run once; each round runs the loop once more, on the same
  model and optimizer.
- ``CLI``: ``minivae.train.train`` with ``fast.optim.FastAdam``, as ``python -m minivae train``
  calls it, one epoch per call (without the test-set evaluation and the checkpoint the command
  line adds after each epoch);
- ``PyTorch``: the same model, loss (BCE from logits summed over pixels plus KL, mean over the
  batch) and Adam in PyTorch (benchmarks/bench_train.py's), ``torch.set_num_threads(1)`` by
  default. torch is optional: ``pip install torch==2.13.0`` (CPU); without it the PyTorch column
  is left out.
- ``README, old Adam`` (with --old-adam): the README's loop with ``optim.Adam`` as it was before
  issue 23, Algorithm 1 as NumPy expressions that allocate new arrays (adam_step.ExpressionAdam).

For each batch size, --warmup unmeasured rounds, then --rounds measured rounds; in each round
every contestant trains one epoch, in an order that rotates every round, so a burst of
background work slows all of them. Each epoch is timed twice: wall-clock time and the CPU
time of this process (time.process_time). With OPENBLAS_NUM_THREADS=1 and one torch thread
every contestant computes on one thread, so its CPU time is the work it did, and it stays
comparable when other processes share the cores (wall time then also counts the waiting).
Prints the median seconds per epoch of both and the ratios of the medians. Not a test.
"""
import argparse
import math
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import minivae                                                       # noqa: E402
from minivae.datasets import load_dataset                            # noqa: E402
from minivae.fast.optim import FastAdam                              # noqa: E402
from minivae.train import train                                      # noqa: E402
from bench_train import (blas_info, cores, cpu_model, cpu_seconds,   # noqa: E402
                         load_average, make_torch, others_cores, torch_epoch)

SUBSTITUTIONS = (('load_dataset("mnist-subset")', "DATA"), ("range(200)", "range(STEPS)"),
                 (", 128)", ", BATCH)"))


def readme_snippet(readme=HERE.parent / "README.md"):
    """(setup, loop): the README's Python snippet with the substitutions, split before `for`."""
    blocks = readme.read_text(encoding="utf-8").split("```python\n")[1:]
    code = next((b.split("```")[0] for b in blocks if "opt.step(vae.grads)" in b), None)
    if code is None:
        sys.exit("README.md has no ```python block with opt.step(vae.grads): update SUBSTITUTIONS")
    for old, new in SUBSTITUTIONS:
        if code.count(old) != 1:
            sys.exit(f"README.md's snippet should contain {old!r} once: update SUBSTITUTIONS")
        code = code.replace(old, new)
    lines = code.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("for "))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(" "))
    return "\n".join(lines[:start]), "\n".join(lines[start:end])


def make_readme(data, batch_size, adam=None):
    setup, loop = readme_snippet()
    names = {"DATA": data, "BATCH": batch_size, "STEPS": math.ceil(len(data.x_train) / batch_size)}
    if adam is not None:
        if setup.count("minivae.Adam(") != 1:
            sys.exit("README.md's snippet should build minivae.Adam once: update --old-adam")
        setup, names["OldAdam"] = setup.replace("minivae.Adam(", "OldAdam("), adam
    exec(compile(setup, "README.md (setup)", "exec"), names)
    return names, compile(loop, "README.md (loop)", "exec")


def readme_epoch(state, epoch):
    names, loop = state
    exec(loop, names)


def make_cli(batch_size, seed):
    model = minivae.VAE(784, hidden=[400], latent_dim=20, rng=np.random.default_rng(seed))
    return model, FastAdam(model.params, lr=1e-3), batch_size


def cli_epoch(state, epoch, x_train):
    model, optimizer, batch_size = state
    train(model, x_train, epochs=1, batch_size=batch_size, binarize_data=True,
          rng=np.random.default_rng([0, epoch + 1000]), optimizer=optimizer)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_dir = HERE.parent.parent / "shared" / "data" / "mnist"
    p.add_argument("--data-dir", default=str(default_dir) if default_dir.is_dir() else None)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 32, 512])
    p.add_argument("--rounds", type=int, default=5, help="measured epochs per contestant (default 5)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--torch-threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=None,
                   help="train only N batches per epoch (the first N * B images) and extrapolate "
                        "the times to a full epoch (default: all batches)")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--old-adam", action="store_true",
                   help="also the README's loop with the pre-issue-23 expression form of Adam")
    a = p.parse_args(argv)
    print(f"load average before: {load_average()}", flush=True)
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    data = load_dataset("mnist", a.data_dir)
    n = len(data.x_train)
    full_data = data
    table, torch_version = [], None
    for b in a.batch_sizes:
        full = math.ceil(n / b)
        data = full_data if a.steps is None else SimpleNamespace(x_train=full_data.x_train[:a.steps * b])
        scale = 1 if a.steps is None else full / math.ceil(len(data.x_train) / b)
        contestants = {"README": (readme_epoch, make_readme(data, b)),
                       "CLI": (lambda s, e: cli_epoch(s, e, data.x_train), make_cli(b, 0))}
        if a.old_adam:
            from adam_step import ExpressionAdam
            contestants["README, old Adam"] = (readme_epoch, make_readme(data, b, ExpressionAdam))
        if not a.no_torch:
            try:
                targs = SimpleNamespace(arch="mlp", torch_threads=a.torch_threads, batch_size=b,
                                        binarize="dynamic")
                state = make_torch(targs, 0)
                torch_version = state[0].__version__
                xt = state[0].from_numpy(data.x_train)
                contestants["PyTorch"] = (lambda s, e, targs=targs, xt=xt: torch_epoch(s, xt, targs, e), state)
            except ImportError:
                print("torch is not importable (pip install torch==2.13.0): no PyTorch column")
                a.no_torch = True
        times, cpu = {k: [] for k in contestants}, {k: [] for k in contestants}
        names = list(contestants)
        for r in range(a.warmup + a.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                run, state = contestants[name]
                start, cpu_start = time.perf_counter(), time.process_time()
                run(state, r)
                if r >= a.warmup:                    # seconds per full epoch
                    times[name].append(scale * (time.perf_counter() - start))
                    cpu[name].append(scale * (time.process_time() - cpu_start))
            if r >= a.warmup:
                print(f"batch {b}, round {r - a.warmup + 1}/{a.rounds}: " + "  ".join(
                    f"{k} {v[-1]:.2f}s (CPU {cpu[k][-1]:.2f}s)" for k, v in times.items()), flush=True)
        table.append((b, {k: statistics.median(v) for k, v in times.items()},
                      {k: statistics.median(v) for k, v in cpu.items()}, times))
    others = others_cores(cpu0, cpu_seconds(), time.perf_counter() - wall0)

    print(f"\nmachine: {cpu_model()}, cores {cores()}, numpy {np.__version__}, BLAS {blas_info()}"
          + (f", torch {torch_version} ({a.torch_threads} threads)" if torch_version else ""))
    print(f"load average after: {load_average()}; other processes kept "
          + ("an unknown number of" if others is None else f"{others:.2f}") + " cores busy on average")
    print(f"784-400-20 Bernoulli VAE, full MNIST ({n:,} images, dynamic binarization), Adam lr 1e-3, "
          f"float32; seconds per epoch, median of {a.rounds} rounds after {a.warmup} warm-up"
          + ("" if a.steps is None else f"; each epoch trained only its first {a.steps} batches "
             f"and its times are scaled to a full epoch") + "\n")
    torch = not a.no_torch
    for title, k in (("CPU time of this process", 2), ("wall-clock time", 1)):
        print(f"\n{title}, s per epoch:\n")
        print("| batch | README | CLI | README / CLI |"
              + (" PyTorch | README / PyTorch | CLI / PyTorch |" if torch else "")
              + (" README, old Adam | old / CLI |" if a.old_adam else ""))
        print("|---|---|---|---|" + ("---|---|---|" if torch else "") + ("---|---|" if a.old_adam else ""))
        for row in table:
            b, med = row[0], row[k]
            line = f"| {b} | {med['README']:.2f} | {med['CLI']:.2f} | **{med['README'] / med['CLI']:.3f}** |"
            if torch:
                line += (f" {med['PyTorch']:.2f} | **{med['README'] / med['PyTorch']:.2f}** | "
                         f"**{med['CLI'] / med['PyTorch']:.2f}** |")
            if a.old_adam:
                old = med["README, old Adam"]
                line += f" {old:.2f} | {old / med['CLI']:.3f} |"
            print(line)
    print("\nwall-clock s per round: " + "; ".join(
        f"batch {b} " + ", ".join(f"{k} " + " ".join(f"{t:.2f}" for t in v) for k, v in times.items())
        for b, _, _, times in table))


if __name__ == "__main__":
    main()
