"""Compare Frey Face decoders: test -ELBO, IW log p(x) and the range of the learned sigma.

    python benchmarks/frey_decoder.py RUN_DIR/checkpoint.npz [...] [--iw-samples 1000]

For each checkpoint (a VAE trained on --dataset frey with --likelihood gaussian-learned)
prints one row: test -ELBO per image, the importance-weighted log p(x), and the decoder's
sigma = exp(log_var / 2) (min, median, max over pixels) on two sets of codes: the test
images' posterior means, and the 20 x 20 grid of plots.manifold; plus the fraction of the
manifold's means outside [0, 1].
"""
import argparse
from pathlib import Path

import numpy as np

from minivae.app import checkpoint
from minivae.datasets import load_dataset
from minivae.evaluate import log_likelihood, negative_elbo
from minivae.plots import manifold_grid


def _sigma_stats(model, z):
    out = model.decode(np.asarray(z, dtype=model.dtype))          # (N, 2D): means, log-variances
    d = model.d_in
    sigma = np.exp(0.5 * out[:, d:].astype(np.float64))
    mean = out[:, :d]
    return sigma, float(np.mean((mean < 0) | (mean > 1)))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--iw-samples", type=int, default=1000)
    a = p.parse_args()
    x = load_dataset("frey").x_test
    print(f"{'run':32s} {'-ELBO':>9s} {'log p(x)':>9s} | sigma on test codes: min / median / max"
          f" | sigma on manifold: min / median / max | manifold means outside [0,1]")
    for path in a.checkpoints:
        model, _ = checkpoint.load(path)
        elbo = negative_elbo(model, x, seed=0).loss
        lpx = float(np.mean(log_likelihood(model, x, k=a.iw_samples, seed=0)))
        mu, _ = model.encode(x)
        s_test, _ = _sigma_stats(model, mu)
        s_grid, outside = _sigma_stats(model, manifold_grid(20))
        name = Path(path).parent.name
        print(f"{name:32s} {elbo:9.1f} {lpx:9.1f} | {s_test.min():.4f} / {np.median(s_test):.4f} / "
              f"{s_test.max():.4f} | {s_grid.min():.4f} / {np.median(s_grid):.4f} / {s_grid.max():.4f}"
              f" | {100 * outside:.1f}%")


if __name__ == "__main__":
    main()
