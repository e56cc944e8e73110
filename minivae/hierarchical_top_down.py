r"""Top-down inference for the hierarchical VAE (Ladder VAE, Sonderby et al. 2016; NVAE,
Vahdat & Kautz 2020): HierarchicalVAE(inference="top-down"), the default.

The posterior shares the generative path. One deterministic bottom-up pass reads x into
features d_1, ..., d_{L-1} (d_0 = x); then, from the top:

    q(z_L | x)            = N(mu_q, diag(exp(lv_q))),  (mu_q, lv_q) = top(d_{L-1})
    q(z_l | z_{l+1}, x)   = N(mu_p + delta_mu, diag(exp(lv_p + delta_lv))),             l < L
                            (delta_mu, delta_lv) = posterior_l([d_l, z_{l+1}])

This is NVAE's *residual* parameterization: the posterior at level l is the prior at
level l (the same network, evaluated at the same sampled z_{l+1}) moved by a correction
that the bottom-up features of x ask for. Notebook 08 explains the Ladder VAE's
alternative (a precision-weighted merge of the two Gaussians). We chose the residual form
because its derivatives are one line each: mu_q = mu_p + delta_mu gives dLoss/dmu_p and
dLoss/d(delta_mu) both equal to dLoss/dmu_q, and the same for the log-variances. (In the
code, d-names are gradients, as everywhere in minivae: dmu_q = dLoss/dmu_q.)

Its ELBO has every KL in closed form: the expectation of each level's log-ratio over z_l,
given the levels above, is the KL between two diagonal Gaussians (losses.kl_diag_gaussians),
exact at the drawn z_{l+1}; the top level's is KL( q(z_L|x) || N(0, I) ).

Networks ("MLP a -> h_l -> c" is Dense, activation, ..., Dense through every size of h_l):

    up_l       d_{l-1} -> h_l, the activation after each layer  (l = 1 .. L-1)   bottom-up features
    top        d_{L-1} -> h_L -> 2 L_L  (mu_q, lv_q)                          q(z_L|x)
    prior_l    z_{l+1} -> h_{l+1} -> 2 L_l  (mu_p, lv_p)                      p(z_l|z_{l+1})
    posterior_l [d_l, z_{l+1}] -> h_l -> 2 L_l  (delta_mu, delta_lv)          q(z_l|z_{l+1},x)

(d_l is as wide as the last size of h_l.) Each function below takes the model m and reads
its networks (m.up, m.top, m.prior, m.posterior, m.samplers, m.decoder).
"""
import numpy as np

from .activations import ACTIVATIONS
from .layers import Sequential, mlp
from .losses import kl_diag_gaussians
from .hierarchical_levels import Level, dense_count, split


def networks(d_in, latent_dims, sizes, net, activation):
    """Build the inference networks and the priors, in the order their weights are drawn.

    sizes : each level's layer sizes, bottom first;  net : mlp's keyword arguments (rng, ...)
    Returns (up, top, prior, posterior, named): the networks, and [(name, network)] in the
    order of model.params ("up1", ..., "top", "prior1", "posterior1", ...).
    """
    L = len(latent_dims)
    widths = [d_in] + [h[-1] for h in sizes]            # widths[i] is the width of d_i (d_0 = x)
    up = [Sequential(mlp([widths[i], *sizes[i]], **net).layers + [ACTIVATIONS[activation]()])
          for i in range(L - 1)]                                                 # d_i -> d_{i+1}
    top = mlp([widths[L - 1], *sizes[L - 1], 2 * latent_dims[L - 1]], **net)
    prior, posterior = [None] * (L - 1), [None] * (L - 1)
    for i in range(L - 2, -1, -1):                                               # top down
        prior[i] = mlp([latent_dims[i + 1], *sizes[i + 1], 2 * latent_dims[i]], **net)
        posterior[i] = mlp([widths[i + 1] + latent_dims[i + 1], *sizes[i], 2 * latent_dims[i]], **net)
    named = ([(f"up{i + 1}", n) for i, n in enumerate(up)] + [("top", top)]
             + [(f"{part}{i + 1}", n) for i in range(L - 1)
                for part, n in (("prior", prior[i]), ("posterior", posterior[i]))])
    return up, top, prior, posterior, named


def parameter_count(d_in, latent_dims, sizes):
    """How many numbers networks() makes, but the priors (counted by the model): up, top, posterior."""
    L, lat = len(latent_dims), latent_dims
    widths = [d_in] + [h[-1] for h in sizes]
    return (sum(dense_count(widths[i], *sizes[i]) for i in range(L - 1))                 # up
            + dense_count(widths[L - 1], *sizes[L - 1], 2 * lat[L - 1])                  # top
            + sum(dense_count(widths[i + 1] + lat[i + 1], *sizes[i], 2 * lat[i])         # posterior
                  for i in range(L - 1)))


def features(m, x):
    """x (N, D) -> the bottom-up features [d_0 = x, d_1 (N, h_1), ..., d_{L-1} (N, h_{L-1})],
    the deterministic part of q, computed once per example."""
    d = [x]
    for net in m.up:
        d.append(net.forward(d[-1]))
    return d


def levels(m, d, rng=None, eps=None):
    """The posterior, level by level from the top, each level drawn before the one below.

    d : the bottom-up features from features() (possibly tiled to more rows).  eps : None or a
    list, bottom first, of (N, L_l) arrays (None draws every level's noise from rng).
    Returns [Level] bottom first.
    """
    L = m.n_levels
    eps = [None] * L if eps is None else eps
    out = [None] * L
    mu, log_var = split(m.top.forward(d[L - 1]))                    # q(z_L|x): (N, L_L) each
    zeros = np.zeros_like(mu)                                        # p(z_L) = N(0, I)
    z = m.samplers[L - 1].forward(mu, log_var, rng=rng, eps=eps[L - 1])
    out[L - 1] = Level(mu, log_var, zeros, zeros, z)
    for i in range(L - 2, -1, -1):
        z_above = out[i + 1].z                                              # (N, L_{l+1})
        mu_p, log_var_p = split(m.prior[i].forward(z_above))               # p(z_l|z_{l+1})
        r = m.posterior[i].forward(np.concatenate([d[i + 1], z_above], axis=1))
        delta_mu, delta_log_var = split(r)                                  # the residual
        mu_q, log_var_q = mu_p + delta_mu, log_var_p + delta_log_var       # q(z_l|z_{l+1},x)
        z = m.samplers[i].forward(mu_q, log_var_q, rng=rng, eps=eps[i])
        out[i] = Level(mu_q, log_var_q, mu_p, log_var_p, z)
    return out


def level_kl(lev, beta):
    r"""KL( q(z_l|z_{l+1},x) || p(z_l|z_{l+1}) ) of a level below the top, exact at the drawn
    z_{l+1}, and its direct partial derivatives times beta, as a Level (the KL does not read
    z_l: its dz is 0). Returns (kl, Level)."""
    kl, dmu_q, dlog_var_q, dmu_p, dlog_var_p = kl_diag_gaussians(lev.mu_q, lev.log_var_q,
                                                                  lev.mu_p, lev.log_var_p)
    return kl, Level(beta * dmu_q, beta * dlog_var_q, beta * dmu_p, beta * dlog_var_p, 0.0)


def backward_levels(m, dout, dlevels, need_dx):
    r"""The chain rule through the decoder and the top-down pass; fills the grads of the
    decoder, prior_l, posterior_l and top. Shared by the ELBO and the importance-weighted
    bound (iwae.ImportanceWeighted), which differ only in what they feed it.

    dout : dLoss/d(the decoder's output) (R, width), R rows of the last top-down pass
    dlevels : a list, bottom first, of Level tuples holding the *direct* partial derivatives
              of the loss with respect to each level's (mu_q, log_var_q, mu_p, log_var_p, z),
              the other four held fixed, each (R, L_l), or 0.0 where the loss has no such
              term (the top's mu_p and log_var_p are not read: N(0, I) has no parameters)
    Returns dd : a list of L entries, dd[i] = dLoss/dd_i (R, h_i) for the features d_i the
             top-down pass read (dd[0], for x, is None unless L = 1 and need_dx).

    The levels' paths, run from level 1 up to level L:
        z_l = mu_q + sigma_q eps             dmu_q  = dz_l,  dlv_q = dz_l eps sigma_q / 2
                                             (sampler), plus the direct terms
        mu_q = mu_p + delta_mu               so  dLoss/d(delta_mu) = dLoss/dmu_q,
                                                 dLoss/dmu_p = dLoss/dmu_q + direct dmu_p
    (and the same for the log-variances). dLoss/dz_l, fed to the sampler's backward, sums the
    direct term, the decoder's (if it reads z_l), and, for l > 1, prior_{l-1}'s and
    posterior_{l-1}'s inputs at the level below.
    """
    L = m.n_levels
    dd = [None] * L                                        # dLoss/dd_i via posterior_i and top
    dz_decoder = m._split_levels(m.decoder.backward(dout))    # via the decoder
    dz = dz_decoder[0]                                     # dLoss/dz_1 via the decoder  (R, L_1)
    for i in range(L - 1):                                 # levels 1 .. L-1, upwards
        g = dlevels[i]
        dmu_q, dlog_var_q = m.samplers[i].backward(dz + g.z)   # through z_l = mu_q + sigma eps
        dmu_q = dmu_q + g.mu_q
        dlog_var_q = dlog_var_q + g.log_var_q
        dmu_p, dlog_var_p = dmu_q + g.mu_p, dlog_var_q + g.log_var_p
        dr = m.posterior[i].backward(np.concatenate([dmu_q, dlog_var_q], axis=1))
        h = m._sizes[i][-1]                                # the width of d_l
        dd[i + 1] = dr[:, :h]                               # (R, h_l)  to the bottom-up d_l
        dz = (dr[:, h:] + m.prior[i].backward(np.concatenate([dmu_p, dlog_var_p], axis=1))
              + dz_decoder[i + 1])                           # dLoss/dz_{l+1} but its direct term
    g = dlevels[L - 1]                                      # the top level, prior N(0, I)
    dmu, dlog_var = m.samplers[L - 1].backward(dz + g.z)
    dh = np.concatenate([dmu + g.mu_q, dlog_var + g.log_var_q], axis=1)
    dtop = m.top.backward(dh, need_dx=need_dx or L > 1)     # dLoss/dd_{L-1} via top
    dd[L - 1] = dtop if dd[L - 1] is None else dtop + dd[L - 1]
    return dd


def backward_features(m, dd, need_dx):
    r"""The chain rule through the bottom-up pass, d_{L-1} down to x; fills the grads of up_l.

    dd : from backward_levels, one row per example (N, h_i)
    Returns dLoss/dx (N, D) through the bottom-up pass if need_dx (else None); the
    decoder's target term is the caller's.
    """
    g = dd[m.n_levels - 1]                                 # dLoss/dd_{L-1}
    for i in range(m.n_levels - 2, -1, -1):                 # up_i: d_i -> d_{i+1}
        g = m.up[i].backward(g, need_dx=need_dx or i > 0)   # dLoss/dd_i via up_i
        if i > 0:
            g = g + dd[i]                                   # and via posterior_i
    return g
