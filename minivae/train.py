r"""Minibatch training: the blog's recipe (Eq. 5).

    theta*, phi* = argmax sum_i ELBO(x_i; theta, phi)

maximised with Adam on minibatches of a fixed size for a fixed number of epochs: each
step draws one z per example (reparameterized), computes -ELBO and its gradient with one
forward and one backward pass, and takes one Adam step.
"""
import math
import sys
import time

import numpy as np

from .datasets import binarize
from .errors import InputError, TrainingDiverged
from .evaluate import negative_elbo
from .iwae import ImportanceWeighted
from .optim import Adam


def kl_weight(step, steps_per_epoch, beta=1.0, warmup_epochs=0.0):
    r"""The KL weight at a given step: a linear warm-up from 0 to beta, then beta.

    beta_t = beta min(1, t / (warmup_epochs * steps_per_epoch))
    """
    if warmup_epochs <= 0:
        return beta
    return beta * min(1.0, step / (warmup_epochs * steps_per_epoch))


def train(model, x_train, x_test=None, epochs=10, batch_size=128, lr=1e-3, beta=1.0,
          warmup_epochs=0.0, binarize_data=False, seed=0, optimizer=None, progress=False,
          on_epoch=None, rng=None, objective="elbo", k=5):
    r"""Train model (a VAE or an Autoencoder) on x_train; returns the history of the run.

    x_train : ndarray of shape (N, D), float in [0, 1] (grey values) or any real values
              for a Gaussian decoder
    x_test : ndarray of shape (M, D) or None; evaluated after each epoch (negative ELBO with
             a fixed noise seed). With binarize_data it must already be binarized (one fixed
             draw, see datasets.fixed_binarization), so every epoch sees the same test set.
    binarize_data : dynamic binarization: each batch is a fresh draw x_bin ~ Bernoulli(x),
                    so each epoch sees new binary images.
    seed : seeds the Generator that draws the batch order, the binarization and eps, unless
           rng (a numpy Generator, e.g. the one that initialised the model) is given.
    optimizer : defaults to Adam(model.params, lr).
    on_epoch : called as on_epoch(epoch, history) after each epoch (e.g. to save a
               checkpoint); epoch is 1-based.
    objective : "elbo" (model.loss) or "iwae", the importance-weighted bound L_k with k
                samples per example (minivae.iwae; a VAE only). Its train_reconstruction and
                train_kl are the ELBO's parts at the same k samples, so for "iwae"
                train_loss <= train_reconstruction + beta train_kl. test_* stay the ELBO.

    Returns history : dict of per-epoch lists: train_loss, train_reconstruction, train_kl,
    test_loss, test_reconstruction, test_kl (None without x_test), beta, seconds.
    Raises TrainingDiverged if the loss becomes NaN or Inf (before the step that would
    have written NaN into the parameters).
    """
    rng = np.random.default_rng(seed) if rng is None else rng
    if objective not in ("elbo", "iwae"):
        raise InputError(f"objective must be 'elbo' or 'iwae'; got {objective!r}")
    loss_of = model if objective == "elbo" else ImportanceWeighted(model, k)   # loss, backward
    optimizer = Adam(model.params, lr=lr) if optimizer is None else optimizer
    n = len(x_train)
    steps_per_epoch = math.ceil(n / batch_size)
    history = {k: [] for k in ("train_loss", "train_reconstruction", "train_kl", "test_loss",
                               "test_reconstruction", "test_kl", "beta", "seconds")}
    step = 0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(n)
        sums = np.zeros(3)                              # loss, reconstruction, kl, weighted by batch size
        for i in range(steps_per_epoch):
            xb = x_train[order[i * batch_size:(i + 1) * batch_size]]          # (B, D)
            if binarize_data:
                xb = binarize(xb, rng)
            beta_t = kl_weight(step, steps_per_epoch, beta, warmup_epochs)
            parts = loss_of.loss(xb, rng=rng, beta=beta_t)
            if not math.isfinite(parts.loss):
                raise TrainingDiverged(
                    f"the loss became {parts.loss} at epoch {epoch}, step {i + 1} "
                    f"(reconstruction {parts.reconstruction}, KL {parts.kl}); the parameters were "
                    "not updated with it. Try a smaller learning rate (--lr) or check the data.")
            loss_of.backward()
            optimizer.step(model.grads)
            sums += len(xb) * np.array(parts)
            step += 1
            if progress:
                _progress(epoch, epochs, i + 1, steps_per_epoch, sums / min(n, (i + 1) * batch_size),
                          time.perf_counter() - start)
        loss, reconstruction, kl = sums / n
        history["train_loss"].append(float(loss))
        history["train_reconstruction"].append(float(reconstruction))
        history["train_kl"].append(float(kl))
        history["beta"].append(float(kl_weight(step, steps_per_epoch, beta, warmup_epochs)))
        test = negative_elbo(model, x_test, seed=seed) if x_test is not None else None
        history["test_loss"].append(None if test is None else test.loss)
        history["test_reconstruction"].append(None if test is None else test.reconstruction)
        history["test_kl"].append(None if test is None else test.kl)
        history["seconds"].append(time.perf_counter() - start)
        if progress:
            msg = "" if test is None else f" | test {test.loss:.2f} (rec {test.reconstruction:.2f}, kl {test.kl:.2f})"
            print(f"{msg} | {history['seconds'][-1]:.1f}s", file=sys.stderr, flush=True)
        if on_epoch is not None:
            on_epoch(epoch, history)
    return history


def _progress(epoch, epochs, i, steps, means, seconds, width=24):
    """One line per epoch, redrawn in place: a bar and the running means of the ELBO's parts."""
    if i % 20 and i != steps:
        return
    done = int(width * i / steps)
    loss, reconstruction, kl = means
    print(f"\repoch {epoch}/{epochs} [{'#' * done}{'.' * (width - done)}] "
          f"loss {loss:.2f} (rec {reconstruction:.2f}, kl {kl:.2f}) {seconds:.1f}s",
          end="", file=sys.stderr, flush=True)
