r"""Burda et al.'s own optimizer and output bias on a minivae recipe: a diagnostic for issue 25.

minivae's recipes (--recipe burda2016, burda2016-2layer) use minivae's Adam (Algorithm 1:
beta1 0.9 as the paper states, m and v starting at 0, eps 1e-4 on the batch-mean gradient) and
zero output biases. The authors' code (yburda/iwae) differs in three places:

  optimizers.py   Adam(beta_1=0.99, beta_2=0.999); the second moments start at ONE
                  (shared_ones_like), eps 1e-4 is added to sqrt(v)
  iwae.py         the VAE's gradient is of T.sum(log_ws): the SUM over the batch of B = 20
  datasets.py     the decoder's output bias starts at logit(clip(mean training pixel, 0.001, 0.999))
                  (get_train_bias_np, passed by random_iwae to BernoulliSampler.random)

In minivae's units (the gradient of the batch MEAN, B times smaller) the first two are
beta1 = 0.99, v_0 = 1 / B^2 and eps = 1e-4 / B: Adam is otherwise blind to the gradient's
scale. v_0 = 1/B^2 acts as a warm-up: while beta2^t v_0 dominates v, the steps are small
(for the first few thousand steps). Not copied: the authors' one-step lag (Theano computes
every update from the old values, so the step reads the moments before this gradient).

This trains the recipe with those three changes (each can be switched off) into a run
folder that `python -m minivae train --resume RUN` continues and `evaluate` reads:

    OPENBLAS_NUM_THREADS=1 python benchmarks/burda_optimizer.py --recipe burda2016-2layer \
        --schedule-stages 4 --data-dir DIR --out runs/RUN
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

from minivae import models

from minivae.app import checkpoint
from minivae.app.cli import (RECIPES, _load_data, _model_config, _parser, _settings, _test_split,
                         _write_history)
from minivae.fast.optim import FastAdam
from minivae.train import set_output_bias_to_data_mean, train


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--recipe", choices=sorted(RECIPES), default="burda2016-2layer")
    p.add_argument("--inference", choices=["top-down", "bottom-up"], default=None)
    p.add_argument("--schedule-stages", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset", choices=["mnist", "mnist-subset"], default="mnist")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", required=True)
    p.add_argument("--minivae-adam", action="store_true", help="keep minivae's Adam (only the bias changes)")
    p.add_argument("--zero-bias", action="store_true", help="keep the zero output bias (only Adam changes)")
    a = p.parse_args(argv)
    args = ["train", "--recipe", a.recipe, "--schedule-stages", str(a.schedule_stages), "--seed", str(a.seed),
            "--dataset", a.dataset]
    if a.inference:
        args += ["--inference", a.inference]
    s = _settings(_parser().parse_args(args))
    config = models.check_config(_model_config(s))
    out = Path(a.out)
    if (out / "checkpoint.npz").exists():
        sys.exit(f"{out} already holds a run; continue it with `python -m minivae train --resume {out}`")
    out.mkdir(parents=True, exist_ok=True)
    data = _load_data(s["dataset"], a.data_dir)
    rng = np.random.default_rng(s["seed"])              # as the command line: initialisation, then training
    model = models.build_model(config, rng=rng)
    b = s["batch_size"]
    if a.minivae_adam:
        optimizer = FastAdam(model.params, lr=s["lr"], eps=s["adam_eps"])
    else:                                                 # theirs, in batch-mean units
        optimizer = FastAdam(model.params, lr=s["lr"], beta1=0.99, eps=1e-4 / b)
        for v in optimizer.v.values():
            v[...] = 1.0 / b**2                           # v_0 = 1 for the sum over the batch
    if a.zero_bias:
        model.decoder.layers[-1].params["b"][...] = 0.0
    else:                                                 # logit of the mean training pixel
        set_output_bias_to_data_mean(model, data.x_train)
    run = {"dataset": s["dataset"], "binarize": s["binarize"], "seed": s["seed"], "epochs": s["epochs"],
           "batch_size": b, "lr": s["lr"], "lr_schedule": s["lr_schedule"], "adam_eps": optimizer.eps,
           "beta": s["beta"], "warmup_epochs": s["warmup_epochs"], "recipe": a.recipe, "objective": "elbo",
           "k": None, "authors_adam": not a.minivae_adam, "authors_output_bias": not a.zero_bias}
    x_test = _test_split(data, run["binarize"])
    ckpt = out / "checkpoint.npz"

    def on_epoch(epoch, hist):
        checkpoint.save(ckpt, model, {"run": run, **hist}, optimizer=optimizer, rng=rng)
        _write_history(out / "history.json", {"run": run, **hist})
        print(f"{time.strftime('%H:%M:%S')} epoch {epoch}: test -ELBO {hist['test_loss'][-1]:.2f} "
              f"({hist['seconds'][-1]:.1f} s)", flush=True)

    history = train(model, data.x_train, x_test, epochs=run["epochs"], batch_size=b, lr=run["lr"],
                    binarize_data=run["binarize"], rng=rng, optimizer=optimizer,
                    lr_schedule=run["lr_schedule"], on_epoch=on_epoch)
    print(f"test -ELBO {history['test_loss'][-1]:.2f}; wrote {ckpt}")


if __name__ == "__main__":
    main()
