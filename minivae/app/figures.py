"""The figures the README and the notebooks show, made by one function each run.

``python -m minivae figures`` calls make_all_figures, which trains the few small models
the pictures need (on the embedded MNIST subset and Frey Face by default, so it runs
anywhere in a few minutes) and writes every PNG into the folder it is given (the
repository's own figures/ only when asked: ``--out figures --overwrite``). ``python -m minivae train``
calls run_figures for the model it has just trained.
"""
from pathlib import Path

import numpy as np

from .. import plots
from ..autoencoder import Autoencoder
from .checkpoint import writing
from ..datasets import TEST_BINARIZATION_SEED, fixed_binarization, load_dataset
from ..errors import InputError, TrainingDiverged
from ..evaluate import log_likelihood
from ..hierarchical import HierarchicalVAE
from ..train import train
from ..vae import VAE

# The figures run_figures may write into a run folder (an overwritten run's are removed).
RUN_FIGURES = ("loss_curves.png", "reconstructions.png", "samples.png", "manifold.png", "latent_scatter.png",
               "levels.png")
MAX_FIGURE_EPOCHS = 1000
# Every figure make_all_figures writes, in order ("python -m minivae figures" refuses to
# replace any of them without --overwrite).
ALL_FIGURES = ("loss_curves.png", "reconstructions.png", "samples.png", "latent_traversals.png",
               "ae_vs_vae_samples.png", "conv_vs_mlp_samples.png", "latent_scatter.png", "manifold_mnist.png",
               "manifold_frey.png", "vae_vs_hvae_samples.png", "hvae_levels.png")
# make_all_figures' work, step by step, with each step's share of the default run's time
# (measured on the 2-core machine: 39, 24, 193, 27, 64, 52 and 7 s of a 405 s run); the
# progress line extrapolates the time left from these shares.
FIGURE_STEPS = (("the 784-400-20 VAE", 0.10), ("an autoencoder of its size", 0.06),
                ("an MLP and a conv VAE", 0.47), ("a VAE with a 2-D latent space", 0.07),
                ("Frey Face", 0.16), ("a VAE and a hierarchical VAE", 0.12), ("their log p(x)", 0.02))


def _save(fig, path):
    with writing(path):
        plots.save(fig, path)


def run_figures(model, history, data, x_test, out, rng):
    """The figures of one training run, written into out; rng draws the prior samples.
    Returns the paths written."""
    out, shape = Path(out), data.image_shape
    if not all(np.isfinite(p).all() for p in model.params.values()):
        raise TrainingDiverged("the model's parameters hold NaN or Inf; no figures were drawn from it")
    figs = {"loss_curves.png": plots.loss_curves(history),
            "reconstructions.png": plots.reconstructions(model, x_test, shape)}
    if model.kind in ("vae", "hvae"):
        figs["samples.png"] = plots.prior_samples(model, rng, shape)
    if model.kind == "hvae" and model.n_levels > 1:
        figs["levels.png"] = plots.hierarchy_levels(model, rng, shape)
    if model.kind == "vae" and model.latent_dim == 2:
        figs["manifold.png"] = plots.manifold(model, shape)
        if data.y_test is not None:
            figs["latent_scatter.png"] = plots.latent_scatter(model, x_test, data.y_test)
    for name, fig in figs.items():
        _save(fig, out / name)
    return [out / name for name in figs]


def make_all_figures(out="figures", dataset="mnist-subset", data_dir=None, epochs=None, seed=0,
                     progress=None):
    """Train the models the pictures need and write every figure (ALL_FIGURES) into out.

    progress : None, or a callable progress(done, total, note): the share of the work done
    (FIGURE_STEPS) and what comes next. Returns the paths written, in order.
    """
    if epochs is not None and not (isinstance(epochs, int) and 1 <= epochs <= MAX_FIGURE_EPOCHS):
        raise InputError(f"epochs must be an integer in [1, {MAX_FIGURE_EPOCHS}] (or None for the "
                         f"default); got {epochs!r}")
    out = Path(out)
    data = load_dataset(dataset, data_dir)
    shape, d = data.image_shape, data.x_train.shape[1]
    epochs_given = epochs is not None
    if epochs is None:
        epochs = 20 if dataset == "mnist-subset" else 10
    x_test = fixed_binarization(data.x_test, TEST_BINARIZATION_SEED)
    written = []
    rng = np.random.default_rng(seed)       # one Generator: every initialisation, batch and picture
    shares = [share for _, share in FIGURE_STEPS]
    step = [0]

    def advance():                          # one step of FIGURE_STEPS is done
        step[0] += 1
        if progress is not None:
            following = FIGURE_STEPS[step[0]][0] if step[0] < len(FIGURE_STEPS) else "done"
            progress(sum(shares[:step[0]]), sum(shares), following)

    if progress is not None:
        progress(0.0, sum(shares), FIGURE_STEPS[0][0])

    def fit(model, x, x_eval, binarize, n_epochs=epochs, **kw):
        return train(model, x, x_eval, epochs=n_epochs, binarize_data=binarize, rng=rng, **kw)

    def put(name, fig):
        _save(fig, out / name)
        written.append(out / name)

    # The PyTorch example's VAE: 784-400-20, ReLU, Bernoulli decoder, dynamic binarization.
    vae = VAE(d, [400], 20, rng=rng)
    history = fit(vae, data.x_train, x_test, True)
    put("loss_curves.png", plots.loss_curves(history))
    put("reconstructions.png", plots.reconstructions(vae, x_test, shape))
    put("samples.png", plots.prior_samples(vae, rng, shape))
    put("latent_traversals.png", plots.latent_traversals(vae, x_test[0], shape, dims=range(10)))
    advance()

    # A plain autoencoder of the same size: its decoder on random codes is not a generator.
    ae = Autoencoder(d, [400], 20, rng=rng)
    fit(ae, data.x_train, data.x_test, False)
    put("ae_vs_vae_samples.png", plots.ae_vs_vae_samples(ae, vae, rng, shape))
    advance()

    # The blog's convolutional encoder and decoder against the MLP, at equal (few) epochs:
    # the conv VAE costs ~20x the MLP's time per step, so this pair trains for epochs // 4.
    short = max(1, epochs // 4)
    mlp_short = VAE(d, [400], 20, rng=rng)
    conv = VAE(d, latent_dim=20, arch="conv", image_shape=shape, rng=rng)
    h_mlp = fit(mlp_short, data.x_train, x_test, True, n_epochs=short)
    h_conv = fit(conv, data.x_train, x_test, True, n_epochs=short)
    put("conv_vs_mlp_samples.png", plots.samples_side_by_side(
        [mlp_short, conv], ["MLP VAE", "conv VAE"], rng, shape,
        title=f"after {short} epochs on {dataset}: test -ELBO {h_mlp['test_loss'][-1]:.1f} (MLP) "
              f"and {h_conv['test_loss'][-1]:.1f} (conv) nats"))
    advance()

    # A 2-D latent space: the scatter of posterior means and Kingma & Welling's Figure 4.
    vae2 = VAE(d, [400], 2, rng=rng)
    fit(vae2, data.x_train, x_test, True)
    put("latent_scatter.png", plots.latent_scatter(vae2, x_test, data.y_test))
    put("manifold_mnist.png", plots.manifold(vae2, shape))
    advance()

    # Frey Face with a Gaussian decoder that learns its variance (K&W's continuous example):
    # sigmoid means (K&W App. C.2) and sigma bounded to [0.01, 1], the command line's defaults.
    frey = load_dataset("frey")
    vae_frey = VAE(frey.x_train.shape[1], [200], 2, likelihood="gaussian-learned", activation="tanh",
                   rng=rng, decoder_mean="sigmoid", sigma_range=(0.01, 1.0))
    fit(vae_frey, frey.x_train, frey.x_test, False, n_epochs=10 * epochs if epochs_given else 300,
        batch_size=100)
    put("manifold_frey.png", plots.manifold(vae_frey, frey.image_shape, n=12))
    advance()

    # The two-level HierarchicalVAE beside a single-level VAE of about the same size (the
    # defaults of benchmarks/compare_hvae.py: 883,828 and 891,944 parameters), the same epochs,
    # compared by log p(x), importance sampled with k = iw_k on the first iw_n test images.
    iw_k, iw_n = 200, 300
    vae_kw = VAE(d, [530], 32, rng=rng)
    hvae = HierarchicalVAE(d, latent_dims=(32, 16), hidden=(400, 100), rng=rng)
    fit(vae_kw, data.x_train, None, True)
    fit(hvae, data.x_train, None, True)
    advance()
    x_iw = x_test[:iw_n]
    log_px = [log_likelihood(vae_kw, x_iw, k=iw_k, seed=seed).mean(),
              log_likelihood(hvae, x_iw, k=iw_k, seed=seed).mean()]
    put("vae_vs_hvae_samples.png", plots.samples_side_by_side(
        [vae_kw, hvae], ["VAE, latent 32", "hierarchical VAE, latents (32, 16)"], rng, shape,
        notes=[f"log p(x) = {lp:.2f} nats, {_n_params(m):,} parameters" for lp, m in zip(log_px, (vae_kw, hvae))],
        title=f"after {epochs} epochs each on {dataset}; log p(x) importance sampled, k = {iw_k}, "
              f"mean over the first {len(x_iw)} test images"))
    # The levels' KLs say how much each level carries, so the viewer can read the rows.
    kls = hvae.elbo_parts(x_iw, seed=seed)["kl_per_level"]                 # bottom first
    note = ", ".join(f"$z_{l}$ {kl:.2f}" for l, kl in enumerate(kls, start=1))
    put("hvae_levels.png", plots.hierarchy_levels(
        hvae, rng, shape, note=f"KL per level on those {len(x_iw)} test images: {note} nats"))
    advance()
    assert [p.name for p in written] == list(ALL_FIGURES)
    return written


def _n_params(model):
    return int(sum(p.size for p in model.params.values()))
