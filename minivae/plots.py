r"""Teaching figures: image grids, loss curves, latent spaces, and samples.

Every function builds a ``matplotlib.figure.Figure`` with the object-oriented API and
returns it; nothing here imports ``pyplot``, so no GUI backend is ever needed (notebooks
show a returned Figure; scripts and CI write it with :func:`save`).

Images arrive the way the models produce them: flat rows ``images`` of shape (N, D) plus
``image_shape = (C, H, W)`` with C * H * W == D, e.g. (1, 28, 28) for MNIST or (1, 28, 20)
for Frey Face. Row k is ``images[k].reshape(C, H, W)`` (C order), so a digit is upright.
Pixels are shown in grey (``cmap="gray"``) on a fixed scale from 0 (black) to 1 (white);
Gaussian means outside [0, 1] are clipped for display only.

    tile(images, image_shape, n_cols)     (N, D) -> one 2-D picture, image k in block
                                          (row k // n_cols, column k % n_cols)
    manifold_grid(n)                      the (n * n, 2) codes z decoded by manifold()
    traversal_codes(mu, dims, values)     the codes z decoded by latent_traversals()
    hierarchy_codes(model, rng, rows, cols)   the z of every level drawn by hierarchy_levels()
"""
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy.stats import norm

from .app.atomic import atomic_file
from .errors import InputError

DPI = 110
PIXELS_PER_INCH = 40        # on-screen size of tiled pictures: a 28-pixel digit is 0.7 inch wide
MAX_INCHES = 11             # no tiled picture is drawn wider or taller than this
DEFAULT_TRAVERSAL = np.linspace(-3.0, 3.0, 9)
DEFAULT_TRAVERSAL.setflags(write=False)
Z_PRIOR = r"$z \sim \mathcal{N}(0, I)$"


# ---------------------------------------------------------------------------- saving

def save(fig, path, dpi=DPI):
    """Write fig as a PNG at path (ending in .png), atomically; returns path as a Path.

    Rendered into a temporary file that then replaces path in one step: a reader never sees
    a half-written PNG, and a failed render leaves an existing file untouched.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InputError(f"save writes PNG files; give a path ending in .png, got {str(path)!r}")
    with atomic_file(path) as f:
        fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight")
    return path


# ---------------------------------------------------------------------------- pictures

def _as_images(images, image_shape, name="images"):
    """images (N, D) -> ndarray of shape (N, H, W, C), float; checks D == C * H * W."""
    images = np.asarray(images, dtype=float)
    if len(image_shape) != 3:
        raise InputError(f"image_shape must be (C, H, W), e.g. (1, 28, 28); got {image_shape!r}")
    c, h, w = (int(s) for s in image_shape)
    if c not in (1, 3):
        raise InputError(f"image_shape must have 1 (grey) or 3 (RGB) channels; got C = {c}")
    if images.ndim == 1:
        raise InputError(f"{name} must have shape (N, {c * h * w}) (a batch of flat images); got "
                         f"shape {images.shape}. For one image pass images[None].")
    if images.ndim != 2 or images.shape[1] != c * h * w:
        raise InputError(f"{name} must have shape (N, C * H * W) = (N, {c * h * w}) for image_shape "
                         f"{tuple(image_shape)}; got shape {images.shape}")
    return images.reshape(-1, c, h, w).transpose(0, 2, 3, 1)         # (N, C, H, W) -> (N, H, W, C)


def tile(images, image_shape, n_cols=10, pad=1, pad_value=0.5):
    """Flat images (N, C*H*W) in a grid, row by row, as one picture (not clipped).

    Image k's top-left pixel is at (k // n_cols * (H + pad), k % n_cols * (W + pad)); blocks
    are separated, and empty cells filled, with pad_value. Returns an ndarray of shape
    (R H + (R - 1) pad, n_cols W + (n_cols - 1) pad), R = ceil(N / n_cols), plus a trailing
    axis of 3 for C = 3.
    """
    images = _as_images(images, image_shape)                        # (N, H, W, C)
    n, h, w, c = images.shape
    if n == 0:
        raise InputError("tile needs at least one image; got an empty batch")
    if n_cols < 1 or pad < 0:
        raise InputError(f"need n_cols >= 1 and pad >= 0; got n_cols={n_cols}, pad={pad}")
    n_cols = min(n_cols, n)
    n_rows = -(-n // n_cols)                                        # ceil(N / n_cols)
    picture = np.full((n_rows * (h + pad) - pad, n_cols * (w + pad) - pad, c), float(pad_value))
    for k in range(n):
        top, left = k // n_cols * (h + pad), k % n_cols * (w + pad)
        picture[top:top + h, left:left + w] = images[k]
    return picture[:, :, 0] if c == 1 else picture


def _show(ax, picture):
    """Draw a tiled picture in grey on the fixed scale [0, 1], without tick marks."""
    ax.imshow(np.clip(picture, 0.0, 1.0), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _picture_size(picture, scale=1.0):
    """(width, height) in inches for a picture of (h, w) pixels, at most MAX_INCHES a side."""
    h, w = picture.shape[:2]
    inches = scale / PIXELS_PER_INCH
    inches = min(inches, MAX_INCHES / max(h, w))
    return max(w * inches, 1.5), max(h * inches, 1.5)


def _image_figure(picture, title=None, scale=1.0):
    """A Figure with one Axes showing picture; returns (fig, ax)."""
    width, height = _picture_size(picture, scale)
    fig = Figure(figsize=(width, height + (0.4 if title else 0.0)), layout="constrained")
    ax = fig.add_subplot()
    _show(ax, picture)
    if title:
        ax.set_title(title)
    return fig, ax


def image_grid(images, image_shape, n_cols=10, title=None, ax=None):
    """images (N, D) in [0, 1] (others clipped) in a grid; draws into ax if given. -> Figure"""
    picture = tile(images, image_shape, n_cols)
    if ax is None:
        fig, ax = _image_figure(picture, title)
        return fig
    _show(ax, picture)
    if title:
        ax.set_title(title)
    return ax.figure


# ---------------------------------------------------------------------------- training curves

def _series(history, key):
    """history[key] as a float array with NaN for None, or None if absent or all None."""
    values = history.get(key)
    if values is None or all(v is None for v in values):
        return None
    return np.array([np.nan if v is None else float(v) for v in values])


def loss_curves(history):
    r"""Three panels, train vs test per epoch: -ELBO, its reconstruction term, its KL term.

        -ELBO = E_q[-log p(x|z)] + KL( q(z|x) || p(z) )       (nats per example)

    history : the dict returned by minivae.train.train (test_* entries may be absent or None).
    With KL weights beta other than 1 the first panel is titled reconstruction + beta KL.
    """
    missing = [k for k in ("train_loss", "train_reconstruction", "train_kl") if k not in history]
    if missing:
        raise InputError(f"history lacks {missing}; expected the dict returned by minivae.train.train")
    betas = _series(history, "beta")
    weighted = betas is not None and not np.all(betas == 1.0)
    panels = [("loss", r"$-$ELBO = reconstruction + KL" if not weighted
               else r"loss = reconstruction + $\beta\,$KL"),
              ("reconstruction", r"reconstruction  $\mathbb{E}_q[-\log p(x|z)]$"),
              ("kl", r"KL$(q(z|x)\,\|\,p(z))$")]
    fig = Figure(figsize=(12, 3.6), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, (part, title) in zip(axes, panels):
        for split, style in (("train", "-"), ("test", "--")):
            values = _series(history, f"{split}_{part}")
            if values is None:
                continue
            epochs = np.arange(1, len(values) + 1)
            ax.plot(epochs, values, style, marker="o" if len(values) < 30 else None,
                    markersize=3, label=split)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel("nats per example")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    if weighted:
        axes[0].text(0.98, 0.95, "test: " + r"$-$ELBO ($\beta$ = 1)", transform=axes[0].transAxes,
                     ha="right", va="top", fontsize="small")
    return fig


def beta_curve(betas, reconstructions, kls):
    r"""Reconstruction and KL (nats) of models trained with different KL weights beta.

    betas, reconstructions, kls : array-like of shape (K,); betas > 0 (a log axis).
    A larger beta buys a smaller KL with a worse reconstruction; their sum, the -ELBO, is dashed.
    """
    betas, rec, kl = (np.asarray(a, dtype=float).ravel() for a in (betas, reconstructions, kls))
    if not len(betas) == len(rec) == len(kl) or len(betas) == 0:
        raise InputError(f"betas, reconstructions and kls must have the same non-zero length; got "
                         f"{len(betas)}, {len(rec)}, {len(kl)}")
    if np.any(betas <= 0):
        raise InputError(f"betas must be positive (they are drawn on a log axis); got {betas}")
    order = np.argsort(betas)
    betas, rec, kl = betas[order], rec[order], kl[order]
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(betas, rec, "o-", label=r"reconstruction $\mathbb{E}_q[-\log p(x|z)]$")
    ax.plot(betas, kl, "s-", label=r"KL$(q(z|x)\,\|\,p(z))$")
    ax.plot(betas, rec + kl, "k--", alpha=0.6, label=r"sum: $-$ELBO")
    ax.set_xscale("log")
    ax.set_xlabel(r"$\beta$ (KL weight during training)")
    ax.set_ylabel("nats per example")
    ax.set_title(r"the $\beta$ trade-off: reconstruction vs KL")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return fig


# ---------------------------------------------------------------------------- models

def _require_2d_latent(model, what):
    if model.latent_dim != 2:
        raise InputError(f"{what} draws a 2-D latent space, so it needs a model with "
                         f"latent_dim == 2; this model has latent_dim == {model.latent_dim}. "
                         "Train one with latent_dim=2 (or use latent_traversals for any L).")


def reconstructions(model, x, image_shape, n=10):
    """The first n inputs x (N, D) (top row) and the model's reconstructions (bottom row)."""
    x = np.asarray(x)[:n]
    rows = np.concatenate([x, model.reconstruct(x)])                    # (2n, D)
    fig, ax = _image_figure(tile(rows, image_shape, n_cols=len(x)),
                            title=f"{_model_name(model)} reconstructions")
    _label_rows(ax, ["input", "reconstruction"], image_shape)
    return fig


def _label_rows(ax, labels, image_shape, pad=1):
    """Name the grid rows of a tiled picture on its y axis (labels, no tick marks)."""
    h = image_shape[1]
    ax.set_yticks([r * (h + pad) + (h - 1) / 2 for r in range(len(labels))], labels=labels)
    ax.tick_params(length=0)


def _model_name(model):
    return {"vae": "VAE", "ae": "autoencoder", "hvae": "hierarchical VAE"}.get(getattr(model, "kind", None),
                                                                                type(model).__name__)


def _prior_text(model):
    r"""How a sample is drawn, for titles: z ~ N(0, I) for a VAE; top down for a HierarchicalVAE,
    e.g. z_2 ~ N(0, I), z_1 ~ p(z_1 | z_2) with two levels."""
    L = getattr(model, "n_levels", 1)
    if getattr(model, "kind", None) != "hvae" or L == 1:
        return Z_PRIOR
    if L == 2:
        return r"$z_2 \sim \mathcal{N}(0, I)$, $z_1 \sim p(z_1 \mid z_2)$"
    return rf"$z_{{{L}}} \sim \mathcal{{N}}(0, I)$, $z_l \sim p(z_l \mid z_{{l+1}})$"


def prior_samples(model, rng, image_shape, n=100, n_cols=10):
    r"""n samples of a VAE (z ~ N(0, I), then E[x|z]) in a grid of n_cols columns.

    A HierarchicalVAE samples top down: z_L ~ N(0, I), then z_l ~ p(z_l | z_{l+1}), then E[x|z]
    (z = [z_1, ..., z_L], or z_1 alone if its decoder_reads is "z1").
    """
    if not hasattr(model, "sample"):
        raise InputError(f"prior_samples needs a model with a prior to sample from (a VAE); got "
                        f"{type(model).__name__}. To decode random codes with an autoencoder, "
                        "use ae_vs_vae_samples.")
    samples = model.sample(n, rng)                                      # (n, D)
    return image_grid(samples, image_shape, n_cols,
                      title=f"{_model_name(model)} samples: decode {_prior_text(model)}")


def latent_scatter(model, x, labels=None, max_points=5000):
    """The codes model.embed(x) of up to max_points inputs x (N, D) in a 2-D latent space,
    coloured by labels (N,) in 0-9 if given."""
    _require_2d_latent(model, "latent_scatter")
    x = np.asarray(x)[:max_points]
    z = model.embed(x)                                      # (N, 2)
    fig = Figure(figsize=(6.4, 5.4), layout="constrained")
    ax = fig.add_subplot()
    style = dict(s=6, alpha=0.7, linewidths=0)
    if labels is None:
        ax.scatter(z[:, 0], z[:, 1], **style)
    else:
        labels = np.asarray(labels)[:max_points]
        if labels.shape != (len(x),):
            raise InputError(f"labels must have shape ({len(x)},), one per input; got {labels.shape}")
        if labels.min() < 0 or labels.max() > 9:
            raise InputError(f"labels must be classes 0-9 (tab10 has ten colours); got values in "
                             f"[{labels.min()}, {labels.max()}]")
        points = ax.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, **style)
        fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    code = r"$\mu(x)$" if getattr(model, "kind", None) == "vae" else r"$z(x)$"
    ax.set_xlabel(r"$z_1$")
    ax.set_ylabel(r"$z_2$")
    ax.set_title(f"{_model_name(model)} latent space: {code} of {len(x)} inputs")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.3)
    return fig


def manifold_grid(n, low=0.05, high=0.95):
    r"""The codes decoded by :func:`manifold`: an n x n grid over the prior N(0, I).

    Each coordinate takes the values norm.ppf(q) for q evenly spaced in [low, high], so the
    grid is evenly spaced in probability and covers the prior's mass (Kingma & Welling 2014,
    Fig. 4). The rows are in picture order: grid cell (i, j) (row i from the top, column j
    from the left) is

        z[i * n + j] = ( norm.ppf(q[j]),  norm.ppf(q[n - 1 - i]) )

    so z_1 grows to the right and z_2 grows upwards, as in a scatter plot. Returns (n * n, 2).
    """
    coords = norm.ppf(np.linspace(low, high, n))                        # (n,)
    z1, z2 = np.meshgrid(coords, coords[::-1])                          # (n, n) each, picture order
    return np.stack([z1.ravel(), z2.ravel()], axis=1)


def manifold(model, image_shape, n=20):
    """A 2-D latent model's decoder E[x|z] on the n x n grid of :func:`manifold_grid`."""
    _require_2d_latent(model, "manifold")
    images = model.generate(manifold_grid(n))                           # (n * n, D)
    fig, ax = _image_figure(tile(images, image_shape, n_cols=n, pad=0),
                            title=f"{_model_name(model)} decoder on a grid over {Z_PRIOR}")
    lo, hi = norm.ppf(0.05), norm.ppf(0.95)
    ax.set_xlabel(rf"$z_1$ from {lo:.2f} to {hi:.2f} $\rightarrow$  (quantiles 0.05 to 0.95)")
    ax.set_ylabel(rf"$z_2$ from {lo:.2f} to {hi:.2f} $\rightarrow$")
    return fig


def traversal_codes(mu, dims, values):
    """The codes decoded by :func:`latent_traversals`: mu with one dimension set to each value.

    mu (L,), dims K ints in [0, L), values V floats -> z (K * V, L), whose row
    r * V + j is mu with coordinate dims[r] replaced by values[j].
    """
    mu, values = np.asarray(mu, dtype=float), np.asarray(values, dtype=float)
    z = np.tile(mu, (len(dims), len(values), 1))                        # (K, V, L)
    for r, d in enumerate(dims):
        z[r, :, d] = values
    return z.reshape(-1, len(mu))


def latent_traversals(model, x0, image_shape, dims=None, values=DEFAULT_TRAVERSAL):
    """What each latent dimension does: decode the code of x0 with one coordinate varied.

    x0 (D,) is one input. Row r starts from model.embed(x0) and sets coordinate dims[r]
    (default: the first min(L, 10)) to each of values in turn (absolute coordinates: -3 to 3
    spans the prior), keeping the others fixed.
    """
    x0 = np.asarray(x0)
    if x0.ndim != 1:
        raise InputError(f"x0 must be one flat input of shape (D,); got shape {x0.shape}")
    dims = list(range(min(model.latent_dim, 10))) if dims is None else [int(d) for d in dims]
    bad = [d for d in dims if not 0 <= d < model.latent_dim]
    if bad or not dims:
        raise InputError(f"dims must be a non-empty list of latent dimensions in "
                         f"[0, {model.latent_dim}); got {dims}")
    values = np.asarray(values, dtype=float)
    mu = model.embed(x0[None])[0]                           # (L,)
    images = model.generate(traversal_codes(mu, dims, values))          # (K * V, D)
    pad = 1
    picture = tile(images, image_shape, n_cols=len(values), pad=pad)
    fig, ax = _image_figure(picture, scale=1.2)
    _label_rows(ax, [f"$z_{{{d}}}$" for d in dims], image_shape, pad)
    w = image_shape[2]
    ax.set_xticks([j * (w + pad) + (w - 1) / 2 for j in range(len(values))],
                  labels=[f"{v:g}" for v in values])
    ax.set_xlabel("value of the varied coordinate (the others stay at the code of $x_0$)")
    ax.set_title(f"{_model_name(model)} latent traversals from "
                 + (r"$\mu(x_0)$" if getattr(model, "kind", None) == "vae" else r"$z(x_0)$"))
    return fig


def ae_vs_vae_samples(autoencoder, vae, rng, image_shape, n=50, n_cols=10):
    r"""Decode random codes z ~ N(0, I) with an autoencoder and with a VAE, side by side.

    The autoencoder was never asked to make N(0, I) codes decode to digits; the VAE's KL
    term pulls its codes towards N(0, I). Equal latent sizes get the same z.
    """
    same = vae.latent_dim == autoencoder.latent_dim
    return samples_side_by_side(
        [autoencoder, vae], ["autoencoder", "VAE"], rng, image_shape, n, n_cols,
        title=("the same random codes: only the VAE was trained so that they decode to data" if same
               else "random codes: only the VAE was trained so that they decode to data"))


def samples_side_by_side(models, names, rng, image_shape, n=50, n_cols=10, title=None, notes=None):
    r"""Decode random codes z ~ N(0, I) with each model, one panel per model.

    Models with the same latent size decode the same z, so the panels differ only by decoder.
    A HierarchicalVAE (kind "hvae") draws its own n samples top down, model.sample(n, rng):
    z_L ~ N(0, I), then each level below from p(z_l | z_{l+1}).
    notes : None or one string per model, a second line under its panel's title.
    """
    codes = {}
    pictures = []
    for model in models:
        if getattr(model, "kind", None) == "hvae":
            pictures.append(tile(model.sample(n, rng), image_shape, n_cols))            # (n, D)
            continue
        z = codes.setdefault(model.latent_dim, rng.standard_normal((n, model.latent_dim)))   # (n, L)
        pictures.append(tile(model.generate(z), image_shape, n_cols))
    width, height = _picture_size(pictures[0])
    fig = Figure(figsize=(len(models) * width + 0.5, height + 0.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(models)))
    notes = [None] * len(models) if notes is None else notes
    for ax, picture, name, model, note in zip(axes, pictures, names, models, notes):
        _show(ax, picture)
        ax.set_title(f"{name}: decode {_prior_text(model)}" + (f"\n{note}" if note else ""))
    if title:
        fig.suptitle(title)
    return fig


# ---------------------------------------------------------------------------- hierarchical VAE

def _require_levels(model, fixed_levels):
    """A HierarchicalVAE with a level left free below the fixed_levels fixed ones."""
    if getattr(model, "kind", None) != "hvae":
        raise InputError(f"hierarchy_levels shows the levels of a HierarchicalVAE; got a "
                         f"{type(model).__name__} (one stochastic level: use latent_traversals)")
    if not (isinstance(fixed_levels, int) and 1 <= fixed_levels < model.n_levels):
        raise InputError(f"fixed_levels must be an integer in [1, {model.n_levels - 1}] (the model has "
                         f"{model.n_levels} levels and at least one must be redrawn); got {fixed_levels!r}")


def hierarchy_codes(model, rng, rows=8, cols=8, fixed_levels=1):
    r"""The z of every level drawn by :func:`hierarchy_levels`: [z_1, ..., z_L], bottom first,
    each of shape (rows * cols, L_l); row r * cols + c is grid cell (r, c).

    Per grid row r, the top fixed_levels levels are drawn once from the prior, top down
    (z_L ~ N(0, I), then z_{L-1} ~ p(z_{L-1} | z_L), ...), and shared by the row's cols cells;
    every cell then draws the levels below afresh from p(z_l | z_{l+1}), given its row's.
    """
    _require_levels(model, fixed_levels)
    L = model.n_levels
    top = model.prior_sample(rows, rng)[L - fixed_levels:]              # fixed_levels arrays (rows, L_l)
    fixed = [None] * (L - fixed_levels) + [np.repeat(z, cols, axis=0) for z in top]   # (rows * cols, L_l)
    return model.prior_sample(rows * cols, rng, fixed=fixed)


def hierarchy_levels(model, rng, image_shape, rows=8, cols=8, fixed_levels=1, note=None):
    r"""What each level of a HierarchicalVAE encodes: the top fixed, the levels below redrawn.

    Each row holds one draw of the top level z_L ~ N(0, I) (with fixed_levels = 2, also one
    z_{L-1} ~ p(z_{L-1} | z_L)); each column redraws the levels below it from the prior,
    z_l ~ p(z_l | z_{l+1}), and shows E[x | z] (codes: :func:`hierarchy_codes`).

    What to look for: if the top level carries the global content (which digit, its slant,
    its width), each row shows one digit in several versions that differ in local detail
    (stroke thickness, small shifts, broken or closed loops), and the rows differ from each
    other. If a row changes digit from column to column, the levels below carry the content
    and the top fixes little (compare the levels' KLs: model.elbo_parts(x)["kl_per_level"]).
    note : None or a string, a second line under the title (e.g. those KLs).
    """
    z = hierarchy_codes(model, rng, rows, cols, fixed_levels)
    images = model.sample(rows * cols, rng, fixed=z)                    # every level fixed: decode only
    picture = tile(images, image_shape, n_cols=cols)
    fig, ax = _image_figure(picture, scale=1.2)
    L = model.n_levels
    kept = ", ".join(f"$z_{{{l}}}$" for l in range(L, L - fixed_levels, -1))          # z_L first
    free = ", ".join(f"$z_{{{l}}}$" for l in range(1, L - fixed_levels + 1))
    ax.set_ylabel(f"one {kept} per row")
    ax.set_xlabel(f"{free} redrawn from the prior in each column")
    ax.set_title(f"{_model_name(model)} ({L} levels): {kept} fixed along each row" + (f"\n{note}" if note else ""))
    return fig
