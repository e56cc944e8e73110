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
from .checks import check_batch
from .app.progress import seconds_text
from .errors import InputError, TrainingDiverged
from .evaluate import negative_elbo
from .iwae import ImportanceWeighted
from .fast.optim import FastAdam


OBJECTIVES = ("elbo", "iwae")            # model.loss, or iwae.ImportanceWeighted's bound L_k


def kl_weight(step, steps_per_epoch, beta=1.0, warmup_epochs=0.0):
    r"""The KL weight at a given step: a linear warm-up from 0 to beta, then beta.

    beta_t = beta min(1, t / (warmup_epochs * steps_per_epoch))
    """
    if warmup_epochs <= 0:
        return beta
    return beta * min(1.0, step / (warmup_epochs * steps_per_epoch))


def learning_rate(epoch, lr, lr_schedule=None):
    r"""The learning rate of a (1-based) epoch.

    lr_schedule : None (lr throughout) or a list of stages (n_epochs, lr_i): the first n_0
                  epochs use lr_0, the next n_1 use lr_1, ...; epochs past the last stage
                  keep its rate. Burda et al. (2016): 3^i epochs at 0.001 10^(-i/7), i = 0..7.
    """
    if lr_schedule is None:
        return lr
    end = 0
    for n_epochs, stage_lr in lr_schedule:
        end += n_epochs
        if epoch <= end:
            return stage_lr
    return lr_schedule[-1][1]


def burda_schedule(stages=8):
    r"""Burda, Grosse & Salakhutdinov (2016)'s schedule: 3^i epochs at lr 0.001 10^(-i/7),
    i = 0 .. stages - 1 (8 stages: 3,280 epochs). Returns [(n_epochs, lr), ...]."""
    return [(3**i, 0.001 * 10 ** (-i / 7)) for i in range(stages)]


def set_output_bias_to_data_mean(model, x_train, clip=1e-3):
    r"""Start a Bernoulli decoder's output bias at the logit of the mean training pixel.

        b_d = logit(m_d) = log m_d - log(1 - m_d),   m_d = clip(mean_i x_id, clip, 1 - clip)

    so that before training, with its weights near zero, the decoder outputs the average
    image. Burda et al.'s code starts their VAEs this way (yburda/iwae, datasets.py
    get_train_bias_np, clip 0.001); minivae's own default is a zero bias (p = 1/2 per pixel).

    model   : a VAE or HierarchicalVAE with likelihood "bernoulli" and an MLP decoder
    x_train : (N, D) the training images, in [0, 1]
    """
    if getattr(model, "likelihood", None) != "bernoulli":
        raise InputError("the data-mean output bias is a logit: it needs a Bernoulli decoder "
                         f"(--likelihood bernoulli), not {getattr(model, 'likelihood', None)!r}")
    b = model.decoder.layers[-1].params.get("b")
    if b is None or b.shape != (x_train.shape[1],):
        raise InputError("the data-mean output bias needs an MLP decoder whose last layer has one bias "
                         "per pixel (--arch mlp)")
    m = np.clip(np.asarray(x_train, dtype=np.float64).mean(axis=0), clip, 1 - clip)
    b[...] = np.log(m) - np.log1p(-m)


def check_lr_schedule(lr_schedule):
    """Raise InputError unless lr_schedule is None or a non-empty list of (positive int epochs,
    positive finite lr) stages. Returns it as a list of (int, float) tuples (or None)."""
    if lr_schedule is None:
        return None
    try:
        stages = [(n, float(r)) for n, r in lr_schedule]
    except (TypeError, ValueError):
        raise InputError(f"lr_schedule must be a list of (n_epochs, lr) pairs; got {lr_schedule!r}") from None
    if not stages or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1
                             and math.isfinite(r) and r > 0 for n, r in stages):
        raise InputError(f"lr_schedule must be a non-empty list of (n_epochs >= 1, lr > 0, finite) "
                         f"pairs; got {lr_schedule!r}")
    return [(int(n), r) for n, r in stages]


def _check_options(epochs, batch_size, lr, beta, warmup_epochs, seed):
    def integer(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if not (integer(seed) and seed >= 0):
        raise InputError(f"seed must be an integer >= 0; got {seed!r}")

    if not (integer(epochs) and epochs >= 0):
        raise InputError(f"epochs must be an integer >= 0; got {epochs!r}")
    if not (integer(batch_size) and batch_size >= 1):
        raise InputError(f"batch_size must be an integer >= 1; got {batch_size!r}")
    for name, value, low in (("lr", lr, None), ("beta", beta, 0), ("warmup_epochs", warmup_epochs, 0)):
        ok = isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value)
        if not (ok and (value > 0 if low is None else value >= low)):
            raise InputError(f"{name} must be a finite number {'> 0' if low is None else '>= 0'}; got {value!r}")


def train(model, x_train, x_test=None, epochs=10, batch_size=128, lr=1e-3, beta=1.0,
          warmup_epochs=0.0, binarize_data=False, seed=0, optimizer=None, progress=False,
          on_epoch=None, rng=None, lr_schedule=None, history=None, objective="elbo", k=5):
    r"""Train model (a VAE, a HierarchicalVAE or an Autoencoder) on x_train; returns the history of the run.

    x_train : ndarray of shape (N, D), float in [0, 1] (grey values) or any real values
              for a Gaussian decoder
    x_test : ndarray of shape (M, D) or None; evaluated after each epoch (negative ELBO with
             a fixed noise seed). With binarize_data it must already be binarized (one fixed
             draw, see datasets.fixed_binarization), so every epoch sees the same test set.
    epochs : the epoch to train up to (the total, counting the epochs of a resumed history).
    binarize_data : dynamic binarization: each batch is a fresh draw x_bin ~ Bernoulli(x),
                    so each epoch sees new binary images.
    seed : seeds the Generator that draws the batch order, the binarization and eps, unless
           rng (a numpy Generator, e.g. the one that initialised the model) is given.
    optimizer : defaults to FastAdam(model.params, lr): optim.Adam's steps, with tiny first
                moments flushed out of float32's slow subnormals (minivae.fast.optim).
    lr_schedule : None, or a list of (n_epochs, lr) stages (see learning_rate); it sets the
                  optimizer's lr at the start of each epoch, and lr is then unused.
    on_epoch : called as on_epoch(epoch, history) after each epoch (e.g. to save a
               checkpoint); epoch is 1-based.
    objective : "elbo" (model.loss) or "iwae", the importance-weighted bound L_k with k
                samples per example (minivae.iwae; a VAE or a HierarchicalVAE). Its train_reconstruction and
                train_kl are the ELBO's parts at the same k samples, so for "iwae"
                train_loss <= train_reconstruction + beta train_kl. test_* stay the ELBO.
    history : to resume, the history of the epochs already run (e.g. from
              checkpoint.load_for_resume, which also restores the model, the optimizer and
              the Generator to the end of that epoch); training continues with epoch
              len(history["train_loss"]) + 1. Same state, same seed: the numbers are
              bit-identical to an uninterrupted run.

    Returns history : dict of per-epoch lists: train_loss, train_reconstruction, train_kl,
    test_loss, test_reconstruction, test_kl (None without x_test), beta, lr, seconds.

    Raises TrainingDiverged if the loss, the gradients, the updated parameters or the test
    loss become NaN or Inf. The model and the optimizer are then put back as they were at
    the end of the last complete epoch (or the start), so no non-finite number is left in them.
    """
    _check_options(epochs, batch_size, lr, beta, warmup_epochs, seed)
    lr_schedule = check_lr_schedule(lr_schedule)
    x_train = check_batch(x_train, model.d_in)
    x_test = None if x_test is None else check_batch(x_test, model.d_in, name="x_test")
    rng = np.random.default_rng(seed) if rng is None else rng
    if objective not in OBJECTIVES:
        raise InputError(f"objective must be one of {OBJECTIVES}; got {objective!r}")
    loss_of = model if objective == "elbo" else ImportanceWeighted(model, k)   # loss, backward
    optimizer = FastAdam(model.params, lr=lr) if optimizer is None else optimizer
    n = len(x_train)
    steps_per_epoch = math.ceil(n / batch_size)
    keys = ("train_loss", "train_reconstruction", "train_kl", "test_loss", "test_reconstruction",
            "test_kl", "beta", "lr", "seconds")
    history = {key: [] for key in keys} if history is None else {
        key: list(v) if isinstance(v, list) else v for key, v in history.items()}
    for key in keys:
        history.setdefault(key, [])
    done = len(history["train_loss"])
    step = done * steps_per_epoch
    for epoch in range(done + 1, epochs + 1):
        start = time.perf_counter()
        if lr_schedule is not None:
            optimizer.lr = learning_rate(epoch, lr, lr_schedule)
        good = _snapshot(model, optimizer)               # the end of the last complete epoch
        order = rng.permutation(n)
        sums = np.zeros(3)                              # loss, reconstruction, kl, weighted by batch size
        # Overflow is detected below and reported once, as TrainingDiverged, not as warnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for i in range(steps_per_epoch):
                xb = x_train[order[i * batch_size:(i + 1) * batch_size]]          # (B, D)
                if binarize_data:
                    xb = binarize(xb, rng)
                beta_t = kl_weight(step, steps_per_epoch, beta, warmup_epochs)
                parts = loss_of.loss(xb, rng=rng, beta=beta_t)
                where = f"at epoch {epoch}, step {i + 1}"
                if not math.isfinite(parts.loss):
                    _diverged(model, optimizer, good, epoch,
                              f"the loss became {parts.loss} {where} (reconstruction "
                              f"{parts.reconstruction}, KL {parts.kl})")
                loss_of.backward()
                optimizer.step(model.grads)
                # One pass over the parameters catches both a non-finite gradient (Adam and SGD
                # carry it into the parameters) and an update that overflowed.
                if not _all_finite(model.params.values()):
                    cause = ("the gradients overflowed to NaN or Inf" if not _all_finite(model.grads.values())
                             else "the update made the parameters NaN or Inf")
                    _diverged(model, optimizer, good, epoch, f"{cause} {where} (the loss was {parts.loss:.6g})")
                sums += len(xb) * np.array(parts)
                step += 1
                if progress:
                    _progress(epoch, epochs, i + 1, steps_per_epoch, sums / min(n, (i + 1) * batch_size),
                              time.perf_counter() - start)
            test = negative_elbo(model, x_test, seed=seed) if x_test is not None else None
        if test is not None and not all(math.isfinite(v) for v in test):
            _diverged(model, optimizer, good, epoch, f"the test loss became {test.loss} after epoch {epoch}")
        loss, reconstruction, kl = sums / n
        history["train_loss"].append(float(loss))
        history["train_reconstruction"].append(float(reconstruction))
        history["train_kl"].append(float(kl))
        history["beta"].append(float(kl_weight(step, steps_per_epoch, beta, warmup_epochs)))
        history["lr"].append(float(optimizer.lr))
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


def _all_finite(arrays):
    """True if no array holds NaN or Inf. A sum is one fast pass, and NaN or Inf anywhere makes
    it non-finite; only when it is (or overflowed) is every entry checked."""
    return all(math.isfinite(float(np.sum(a))) or bool(np.isfinite(a).all()) for a in arrays)


def _snapshot(model, optimizer):
    """Copies of the parameters and the optimizer's arrays and step count, to roll back to."""
    slots = [d for name in ("m", "v", "velocity") if isinstance(d := getattr(optimizer, name, None), dict)]
    return ({k: p.copy() for k, p in model.params.items()},
            [{k: a.copy() for k, a in d.items()} for d in slots], slots, getattr(optimizer, "t", None))


def _diverged(model, optimizer, good, epoch, what):
    """Put the model and optimizer back to the snapshot and raise TrainingDiverged."""
    params, copies, slots, t = good
    for k, p in model.params.items():
        p[...] = params[k]
    for d, copy in zip(slots, copies):
        for k, a in d.items():
            a[...] = copy[k]
    if t is not None:
        optimizer.t = t
    restored = f"after epoch {epoch - 1}" if epoch > 1 else "before training"
    raise TrainingDiverged(f"{what}; the model and optimizer were put back as they were {restored}. "
                           "Try a smaller learning rate (--lr) or beta, or check the data.")


def _progress(epoch, epochs, i, steps, means, seconds, width=24):
    """One line per epoch, redrawn in place: a bar, the running means of the ELBO's parts, and
    the time the run has left at this epoch's pace, (steps left in this epoch and the next
    epochs) x (seconds per step so far)."""
    if i % 20 and i != steps:
        return
    done = int(width * i / steps)
    loss, reconstruction, kl = means
    left = seconds / i * (steps - i + (epochs - epoch) * steps)
    left = f", about {seconds_text(left)} left" if i < steps or epoch < epochs else ""
    print(f"\repoch {epoch}/{epochs} [{'#' * done}{'.' * (width - done)}] "
          f"loss {loss:.2f} (rec {reconstruction:.2f}, kl {kl:.2f}) {seconds:.1f}s{left}   ",
          end="", file=sys.stderr, flush=True)
