#!/usr/bin/env python
r"""How fast minivae trains and evaluates the PyTorch example's VAE on full MNIST.

    python benchmarks/bench_train.py --data-dir ../shared/data/mnist
    python benchmarks/bench_train.py --arch conv --steps 60 --epochs 3 --iw-k 0

The model is the one of PyTorch's examples/vae: 784 -> 400 -> (mu, log_var) of 20 each,
20 -> 400 -> 784 logits, ReLU, a Bernoulli decoder, batch 128, Adam with lr 1e-3, float32,
in both libraries with the same batch size, binarization and loss (-ELBO per example, mean
over the batch); the weights of both start from PyTorch's fan-in uniform scheme.
Prints, for the machine it runs on:

- seconds per epoch and examples per second: the median of --epochs epochs after
  --warmup epochs, each a call of ``minivae.train.train`` (the library's own loop);
- if torch is importable, the same model trained in PyTorch in this process, its epochs
  alternating with minivae's, and the ratio minivae / PyTorch;
- the matrix-multiply floor: one epoch of only the matrix products of the forward and
  backward passes (each step's products in the step's order, same shapes and layouts,
  float32, preallocated outputs), also timed in alternation. Its FLOP count over its time
  is the machine's matmul throughput on these shapes; minivae / floor says how much the
  rest of the work (element-wise passes, Adam, batches, Python) adds on top;
- peak memory: numpy's allocations traced by tracemalloc during one training epoch and
  during the evaluation, and the process's peak resident size (getrusage ru_maxrss);
- the time of the importance-weighted log-likelihood (``minivae.evaluate.log_likelihood``,
  k = 1000 on the 10,000 test images).

Nothing here is a test: timings depend on the machine and on what else runs on it. The
script prints the load average before and after and warns when other processes competed
for the cores: a busy core stalls a two-thread matrix product, so those timings can be
several times slower and erratic. PyTorch stays optional.

--arch conv times minivae's conv VAE instead (minivae.conv: Conv 3x3 to 32 channels, ReLU,
MaxPool 2, Conv 3x3 to 64, ReLU, MaxPool 2, Dense 3136 -> 40; the decoder Dense 20 -> 3136,
ReLU, Upsample 2, Conv 3x3 to 32, ReLU, Upsample 2, Conv 3x3 to 1 logit per pixel) against
the same layers in PyTorch (nn.Conv2d, nn.MaxPool2d, nn.Upsample, nearest). Its epochs are
long, so --steps N trains only N batches per epoch and the times are extrapolated to a full
epoch; there is no matmul floor and no IW evaluation for it.
"""
import argparse
import math
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))           # run from a checkout without installing

from minivae import VAE                                              # noqa: E402
from minivae.datasets import (TEST_BINARIZATION_SEED, fixed_binarization,   # noqa: E402
                              load_dataset)
from minivae.evaluate import log_likelihood                         # noqa: E402
from minivae.layers import Dense                                    # noqa: E402
from minivae.fast.optim import FastAdam                             # noqa: E402
from minivae.train import train                                     # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    default_dir = REPO.parent / "shared" / "data" / "mnist"
    p.add_argument("--data-dir", default=str(default_dir) if default_dir.is_dir() else None,
                   help="folder with the MNIST IDX files (default: ../shared/data/mnist next to "
                        "the repository if it exists, else minivae's data dir: $MINIVAE_DATA or "
                        "~/.cache/minivae, downloading if needed)")
    p.add_argument("--arch", choices=["mlp", "conv"], default="mlp",
                   help="mlp: the 784-400-20 VAE (default); conv: minivae's conv VAE with "
                        "channels (32, 64), no matmul floor and no IW evaluation")
    p.add_argument("--steps", type=int, default=None,
                   help="train only N batches per epoch (the first N * batch-size training images, "
                        "reshuffled each epoch) and extrapolate the time to a full epoch "
                        "(default: all batches)")
    p.add_argument("--epochs", type=int, default=5, help="measured epochs per contestant (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="unmeasured epochs first (default 1)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--binarize", choices=["dynamic", "none"], default="dynamic",
                   help="dynamic binarization of the training batches, in both libraries "
                        "(default dynamic, as minivae's command line; the test set gets one fixed draw)")
    p.add_argument("--iw-k", type=int, default=1000, help="importance samples (default 1000; 0 skips)")
    p.add_argument("--iw-examples", type=int, default=None,
                   help="test images for the IW estimate (default: all 10,000)")
    p.add_argument("--no-torch", action="store_true", help="do not compare with PyTorch")
    p.add_argument("--torch-threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        p.error("--steps must be at least 1")
    return args


# ------------------------------------------------------------------------- the machine

def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info():
    """The BLAS numpy calls, with its thread count if threadpoolctl is installed."""
    try:
        from threadpoolctl import threadpool_info
        pools = [f"{i['internal_api']} {i.get('version') or ''} ({i['num_threads']} threads)"
                 for i in threadpool_info() if i.get("user_api") == "blas"]
        if pools:
            return "; ".join(pools)
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:                                   # older numpy: no mode="dicts"
        return "unknown (see numpy.show_config())"


def cores():
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{usable} usable of {os.cpu_count()}"


def load_average():
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def cpu_seconds():
    """(CPU seconds all processes have spent busy, CPU seconds of this process), from
    /proc/stat and os.times; None for the first on systems without /proc."""
    own = sum(os.times()[:2])
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None, own
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)         # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK"), own


def others_cores(start, end, seconds):
    """How many cores other processes kept busy on average between two cpu_seconds()."""
    if start[0] is None:
        return None
    return max(0.0, (end[0] - start[0]) - (end[1] - start[1])) / seconds


def peak_rss_mb():
    """The process's peak resident set size so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


# ------------------------------------------------------------------------- contestants

def minivae_epoch(state, x, args, epoch):
    """One epoch of minivae.train.train (the library's loop: batches, loss, backward, Adam)."""
    model, optimizer = state
    train(model, x, epochs=1, batch_size=args.batch_size, binarize_data=args.binarize == "dynamic",
          rng=np.random.default_rng([args.seed, epoch + 1000]), optimizer=optimizer)   # a fresh order each epoch


def make_minivae(args):
    if args.arch == "conv":
        return VAE(784, latent_dim=20, likelihood="bernoulli", arch="conv", image_shape=(1, 28, 28),
                   channels=(32, 64), rng=np.random.default_rng(args.seed))
    return VAE(784, hidden=(400,), latent_dim=20, likelihood="bernoulli",
               rng=np.random.default_rng(args.seed))


def make_torch(args, seed):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.torch_threads)
    torch.manual_seed(seed)

    class TorchVAE(torch.nn.Module):
        """PyTorch's examples/vae model; mu and log_var come from one 400 -> 40 layer, as in
        minivae (the example's two 400 -> 20 layers do the same products)."""

        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = torch.nn.Linear(784, 400), torch.nn.Linear(400, 40)
            self.fc3, self.fc4 = torch.nn.Linear(20, 400), torch.nn.Linear(400, 784)

        def forward(self, x):
            mu, log_var = self.fc2(F.relu(self.fc1(x))).chunk(2, dim=1)
            z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
            return self.fc4(F.relu(self.fc3(z))), mu, log_var

    class TorchConvVAE(torch.nn.Module):
        """minivae's conv VAE (minivae.networks.conv_encoder, conv_decoder), layer for layer."""

        def __init__(self):
            super().__init__()
            nn = torch.nn
            self.encoder = nn.Sequential(
                nn.Unflatten(1, (1, 28, 28)),
                nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # (N, 32, 14, 14)
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (N, 64, 7, 7)
                nn.Flatten(), nn.Linear(64 * 7 * 7, 40))
            self.decoder = nn.Sequential(
                nn.Linear(20, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
                nn.Upsample(scale_factor=2, mode="nearest"),                   # (N, 64, 14, 14)
                nn.Conv2d(64, 32, 3, padding=1), nn.ReLU(),
                nn.Upsample(scale_factor=2, mode="nearest"),                   # (N, 32, 28, 28)
                nn.Conv2d(32, 1, 3, padding=1), nn.Flatten())                  # (N, 784) logits

        def forward(self, x):
            mu, log_var = self.encoder(x).chunk(2, dim=1)
            z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
            return self.decoder(z), mu, log_var

    model = TorchConvVAE() if args.arch == "conv" else TorchVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return torch, F, model, optimizer


def torch_epoch(state, x, args, epoch):
    """The same epoch in PyTorch: mean over the batch of BCE-from-logits summed over pixels + KL."""
    torch, F, model, optimizer = state
    n = len(x)
    order = torch.randperm(n)
    for i in range(math.ceil(n / args.batch_size)):
        xb = x[order[i * args.batch_size:(i + 1) * args.batch_size]]
        if args.binarize == "dynamic":
            xb = torch.bernoulli(xb)
        logits, mu, log_var = model(xb)
        rec = F.binary_cross_entropy_with_logits(logits, xb, reduction="sum") / len(xb)
        kl = 0.5 * torch.sum(mu * mu + log_var.exp() - log_var - 1) / len(xb)
        loss = rec + kl
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()                 # as minivae checks each step's loss (and the example sums it)


def matmul_plan(model, n, batch_size):
    r"""The matrix products of one epoch: a list of (steps, products), one entry per batch size.

    products lists one training step's products in the order the step does them, each as
    ((a_shape, a_transposed), (b_shape, b_transposed)): the shapes of the operands as
    multiplied; "transposed" marks a transposed view of a C-ordered array (x^T and W^T in
    the backward pass), as the layers pass them to matmul. For each Dense layer
    y = x W + b with a batch of B rows:

        forward  x W        (B, D_in) @ (D_in, D_out)       2 B D_in D_out FLOPs
        backward x^T dy     (D_in, B) @ (B, D_out)           the same
                 dy W^T     (B, D_out) @ (D_out, D_in)       the same, except for the
                                                             encoder's first layer (no dx)
    """
    dense = [l for l in model.encoder.layers + model.decoder.layers if isinstance(l, Dense)]
    full, last = divmod(n, batch_size)
    plan = []
    for b, steps in ((batch_size, full), (last, 1)):
        if steps == 0 or b == 0:
            continue
        forward, backward = [], []
        for i, layer in enumerate(dense):
            d_in, d_out = layer.params["W"].shape
            forward.append((((b, d_in), False), ((d_in, d_out), False)))              # x W
            backward.insert(0, (((d_in, b), True), ((b, d_out), False)))             # x^T dy
            if i > 0:
                backward.insert(1, (((b, d_out), False), ((d_out, d_in), True)))     # dy W^T
        plan.append((steps, forward + backward))
    return plan


def floor_flops(plan):
    return sum(steps * 2 * a[0] * a[1] * b[1] for steps, products in plan
               for (a, _), (b, _) in products)


def make_floor(plan, seed):
    """Operands and outputs for every product of the plan, allocated once."""
    rng = np.random.default_rng(seed)

    def operand(shape, transposed):
        if transposed:
            return rng.standard_normal(shape[::-1], dtype=np.float32).T
        return rng.standard_normal(shape, dtype=np.float32)

    jobs = []
    for steps, products in plan:
        step = []
        for a_spec, b_spec in products:
            a, b = operand(*a_spec), operand(*b_spec)
            step.append((a, b, np.empty((a.shape[0], b.shape[1]), np.float32)))
        jobs.append((steps, step))
    return jobs


def floor_epoch(jobs, x, args, epoch):
    """Only the epoch's matrix products: each step's, in the step's order, step after step."""
    for steps, products in jobs:
        for _ in range(steps):
            for a, b, out in products:
                np.matmul(a, b, out=out)


# ------------------------------------------------------------------------- the run

def main(argv=None):
    args = parse_args(argv)
    print(f"load average before: {load_average()}", flush=True)
    cpu_start, wall_start = cpu_seconds(), time.perf_counter()
    data = load_dataset("mnist", args.data_dir)
    x_train = data.x_train                                                  # (60000, 784) float32
    x_test = data.x_test[:args.iw_examples]
    if args.binarize == "dynamic":
        x_test = fixed_binarization(x_test, TEST_BINARIZATION_SEED)
    n = len(x_train)
    if args.steps is not None:          # the first steps * batch_size images, reshuffled each epoch
        x_train = x_train[:args.steps * args.batch_size]                   # a view, no copy
    results = {"epochs": {}}
    conv = args.arch == "conv"

    # minivae, warm-up: its first epoch also measures numpy's peak allocations
    model = make_minivae(args)
    results["params"] = {"minivae": sum(p.size for p in model.params.values())}
    mv = (model, FastAdam(model.params, lr=1e-3))
    tracemalloc.start()
    for e in range(args.warmup):
        minivae_epoch(mv, x_train, args, -1 - e)
    results["train_traced_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    results["rss_minivae_mb"] = peak_rss_mb()          # before torch is imported

    contestants = {"minivae": (minivae_epoch, mv, x_train)}
    torch_version = None
    if not args.no_torch:
        try:
            state = make_torch(args, args.seed)
            torch_version = state[0].__version__
            results["params"]["PyTorch"] = sum(p.numel() for p in state[2].parameters())
            contestants["PyTorch"] = (torch_epoch, state, state[0].from_numpy(x_train))
        except ImportError:
            print("torch is not importable: minivae alone", flush=True)
    plan = None if conv else matmul_plan(model, len(x_train), args.batch_size)
    if plan is not None:
        contestants["floor"] = (floor_epoch, make_floor(plan, args.seed), None)
    for name, (run, state, x) in contestants.items():
        if name != "minivae":
            for e in range(args.warmup):
                run(state, x, args, -1 - e)
        results["epochs"][name] = []

    # measured epochs, alternating; the order rotates so no contestant always goes first
    names = list(contestants)
    for epoch in range(args.epochs):
        for name in names[epoch % len(names):] + names[:epoch % len(names)]:
            run, state, x = contestants[name]
            start = time.perf_counter()
            run(state, x, args, epoch)
            results["epochs"][name].append(time.perf_counter() - start)
        line = "  ".join(f"{k} {v[-1]:.2f}s" for k, v in results["epochs"].items())
        print(f"epoch {epoch + 1}/{args.epochs}: {line}", flush=True)

    if args.iw_k > 0 and not conv:     # conv: 10 million conv decoder passes would take hours
        start = time.perf_counter()
        ll = log_likelihood(model, x_test, k=args.iw_k, seed=args.seed)
        results["iw_seconds"] = time.perf_counter() - start
        results["iw_mean"] = float(np.mean(ll))
        # Its memory, on a few images: it works in chunks of the same size whatever N is,
        # and tracemalloc would have slowed the timed run by ~10%.
        tracemalloc.start()
        log_likelihood(model, x_test[:20], k=args.iw_k, seed=args.seed)
        results["iw_traced_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    results["rss_end_mb"] = peak_rss_mb()
    results["others"] = others_cores(cpu_start, cpu_seconds(), time.perf_counter() - wall_start)

    # with --steps, the measured epochs had `run` steps: scale them to a full epoch's `full`
    full, run = math.ceil(n / args.batch_size), math.ceil(len(x_train) / args.batch_size)
    results["measured"] = {k: list(v) for k, v in results["epochs"].items()}
    results["epochs"] = {k: [t * full / run for t in v] for k, v in results["epochs"].items()}
    results["steps"] = (run, full)
    report(args, results, n, len(x_test), None if plan is None else floor_flops(plan) * full / run,
           data, torch_version)


def report(args, r, n, n_test, flops, data, torch_version):
    med = {k: statistics.median(v) for k, v in r["epochs"].items()}
    mv, fl = med["minivae"], med.get("floor")
    pt = med.get("PyTorch")
    spread = {k: f"{min(v):.2f}-{max(v):.2f}" for k, v in r["epochs"].items()}
    run, full = r["steps"]
    bin_note = "dynamic binarization" if args.binarize == "dynamic" else "grey values"
    print()
    print(f"machine: {cpu_model()}, cores {cores()}, Python {platform.python_version()}, "
          f"numpy {np.__version__}, BLAS {blas_info()}"
          + (f", torch {torch_version} ({args.torch_threads} threads)" if torch_version else ""))
    others = r["others"]
    print(f"load average after: {load_average()}; other processes kept "
          + ("an unknown number of" if others is None else f"{others:.2f}")
          + " cores busy on average during the run (/proc/stat minus this process)")
    if others is not None and others > 0.2:
        print("WARNING: other processes competed for the cores: a busy core stalls two-thread "
              "matrix products, so these timings are unreliable. Rerun on a quiet machine.")
    print()
    what = ("conv VAE 1x28x28 -> conv32, pool, conv64, pool -> 20 -> up, conv32, up, conv1 "
            "(ReLU, Bernoulli logits)" if args.arch == "conv" else
            "VAE 784-400-20 (ReLU, Bernoulli logits)")
    print(f"{what}, full MNIST ({n} images, {bin_note}), "
          f"batch {args.batch_size}, Adam lr 1e-3, float32; median of {args.epochs} epochs "
          f"after {args.warmup} warm-up, epochs alternating")
    params = r["params"]
    print("parameters: " + ", ".join(f"{k} {v:,}" for k, v in params.items())
          + ("" if len(set(params.values())) == 1 else "   WARNING: the models differ"))
    if run != full:
        print(f"each epoch trained only {run} of {full} steps (--steps {args.steps}: the first "
              f"{run * args.batch_size} images, reshuffled each epoch); all times below are "
              f"seconds per {full}-step epoch, extrapolated as the measured time x {full}/{run}")
    print()
    pt_cell = f"{pt:.2f} ({n / pt:,.0f}/s)" if pt else "n/a (no torch)"
    ratio = f"**{mv / pt:.2f}**" if pt else "n/a"
    iw = (f"{r['iw_seconds']:.1f} s" if "iw_seconds" in r
          else "n/a (conv)" if args.arch == "conv" else "not run")
    floor_cells = (f"{fl:.2f} ({flops / fl / 1e9:.0f} GFLOP/s) | **{mv / fl:.2f}**" if fl
                   else "n/a | n/a")
    print("| minivae s/epoch | PyTorch s/epoch | minivae / PyTorch | matmul floor s/epoch "
          "| minivae / floor | peak RSS (training) | "
          + ("IW |" if args.arch == "conv" else f"IW, k = {args.iw_k}, {n_test} images |"))
    print("|---|---|---|---|---|---|---|")
    print(f"| {mv:.2f} ({n / mv:,.0f}/s) | {pt_cell} | {ratio} | {floor_cells} "
          f"| {r['rss_minivae_mb']:.0f} MB | {iw} |")
    print()
    print(f"epoch times (min-max): minivae {spread['minivae']} s, PyTorch "
          f"{spread.get('PyTorch', 'n/a')} s" + (f", floor {spread['floor']} s" if fl else ""))
    if run != full:
        print(f"measured (s per epoch of {run} steps): " + "; ".join(
            f"{k} " + " ".join(f"{t:.2f}" for t in v) for k, v in r["measured"].items()))
    if fl:
        print(f"matmul floor: {flops / 1e9:.1f} GFLOP of matrix products per epoch in {fl:.2f} s "
              f"= {flops / fl / 1e9:.0f} GFLOP/s (float32, these shapes and layouts, this machine)")
    print(f"memory: process peak RSS {r['rss_minivae_mb']:.0f} MB while training minivae "
          f"(ru_maxrss, before torch is imported; {r['rss_end_mb']:.0f} MB at the end, with "
          f"torch), of which the data set is {(data.x_train.nbytes + data.x_test.nbytes) / 2**20:.0f}"
          f" MB; numpy allocations peaked at {r['train_traced_mb']:.1f} MB during a training epoch "
          "(tracemalloc)" + (f" and {r['iw_traced_mb']:.0f} MB during the IW evaluation"
                             if "iw_seconds" in r else ""))
    if "iw_seconds" in r:
        print(f"IW log-likelihood: k = {args.iw_k} on {n_test} test images in "
              f"{r['iw_seconds']:.1f} s; mean log p(x) {r['iw_mean']:.2f} nats after "
              f"{args.warmup + args.epochs} epochs")


if __name__ == "__main__":
    main()
