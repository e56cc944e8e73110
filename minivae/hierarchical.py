r"""A hierarchical VAE: L stochastic levels z_1 (next to x), ..., z_L (the top), inferred top down
(Ladder VAE, Sonderby et al. 2016; NVAE, Vahdat & Kautz 2020; the default) or bottom up (Burda,
Grosse & Salakhutdinov 2016, ``inference="bottom-up"``).

Generative model, top down (levels listed bottom first, as in ``latent_dims``):

    p(z_L)           = N(0, I)
    p(z_l | z_{l+1}) = N(mu_p, diag(exp(lv_p))),   (mu_p, lv_p) = prior_l(z_{l+1})     l < L
    p(x | z_1, ..., z_L)  the decoder's likelihood (bernoulli / gaussian / gaussian-learned),
                     its network reading every level side by side, [z_1, ..., z_L]

The decoder reading every level is NVAE's structure (there the decoder's top-down path
carries each level's sample down to x): the upper levels reach x directly as well as
through the prior of the levels below. ``decoder_reads="z1"`` gives the Markov chain
p(x | z_1) instead (the Ladder VAE's and Burda et al.'s generative model), where an upper
level matters only through p(z_1 | z_2). (docs/results.md, "One level against two", compares
the two with a single-level VAE.)

Inference, the posterior q(z | x), comes in two orders, each in its own module:

    top down (the default)  q(z_L | x) prod_{l<L} q(z_l | z_{l+1}, x)    hierarchical_top_down.py
                            NVAE's residual posterior over the generative path
    bottom up               prod_l q(z_l | z_{l-1}),  z_0 = x             hierarchical_bottom_up.py
                            Burda et al.'s: each level reads the sample below

Each module builds its networks and offers the same five steps (features, levels, level_kl,
backward_levels, backward_features); this file holds what they share.

The ELBO (written for top-down inference; bottom-up's is in its module). The joint
posterior factorizes as q(z|x) = q(z_L|x) prod_{l<L} q(z_l|z_{l+1},x), and the joint prior
as p(z) = p(z_L) prod_{l<L} p(z_l|z_{l+1}). So

    ELBO = E_q[ log p(x|z) + log p(z) - log q(z|x) ]
         = E_q[ log p(x|z) ] - KL( q(z_L|x) || p(z_L) )
           - sum_{l<L} E_q[ KL( q(z_l|z_{l+1},x) || p(z_l|z_{l+1}) ) ]

(the expectation of each log-ratio over z_l, given the levels above, is the KL between two
diagonal Gaussians in closed form: losses.kl_diag_gaussians). One reparameterized draw
z_l = mu_q + exp(lv_q / 2) eps_l per level estimates the outer expectations; the inner KLs
are exact at the drawn z_{l+1}. ``loss`` returns -ELBO with kl the sum of the levels' KLs;
``kl_per_level`` holds them (bottom first) after each call.

The importance-weighted bound. iwae.ImportanceWeighted(model, k) trains on Burda et al.'s
L_k instead, and evaluate.log_likelihood estimates log p(x), both with

    log w = log p(x|z) + sum_l [ log p(z_l | z_{l+1}) - log q(z_l | z_{l+1}, x) ]

for each of k samples of every level (q(z_l | z_{l-1}) with bottom-up inference). log_weights
computes it on k N rows (the deterministic part of q, features, once per example, tiled),
backward_log_weights its gradient. Both objectives share one chain rule through the model
(the inference module's backward_levels and backward_features); they differ only in the
gradients they feed it at each level: the ELBO's closed-form KLs depend on (mu_q, lv_q,
mu_p, lv_p), while the sampled log-ratio of the bound also depends on z_l itself.

Networks. hidden gives each level's deterministic layers: h_l = hidden[l - 1], an int (one
hidden layer) or a list of sizes (several, e.g. Burda et al.'s [[200, 200], [100, 100]]);
"MLP a -> h_l -> c" is Dense, activation, ..., Dense through every size of h_l. The
generative path is built here,

    prior_l    z_{l+1} -> h_{l+1} -> 2 L_l  (mu_p, lv_p)                      p(z_l|z_{l+1})
    decoder    [z_1, ..., z_L] -> h_dec -> D (or 2D)                          p(x|z)
               (z_1 alone with decoder_reads="z1"; h_dec = decoder_hidden, default h_1)

and the inference networks by the inference module (top down: up_l, top, posterior_l;
bottom up: encoder_l).

With L = 1 only top (or encoder_1) and decoder exist: they are VAE(hidden=[h_1])'s encoder and
decoder, built in the same order from the same Generator, so the model *is* that VAE (tested).
"""
import numpy as np

from . import hierarchical_bottom_up, hierarchical_top_down
from .activations import ACTIVATIONS
from .checks import check_batch, check_dtype, check_fits, check_positive_int, check_sigma
from .errors import InputError
from .hierarchical_levels import Level, dense_count, log_normal, log_normal_gradients, split
from .layers import mlp
from .likelihoods import (check_likelihood, check_targets, decoder_width, mean_image, nll,
                          nll_per_example, nll_target_gradient)
from .losses import LossParts, kl_diag_gaussians, kl_standard_normal
from .sampler import GaussianSampler, sigma_from_log_var


INFERENCE = {"top-down": hierarchical_top_down, "bottom-up": hierarchical_bottom_up}
INFERENCES = tuple(INFERENCE)
DECODER_READS = ("all", "z1")           # p(x | z_1, ..., z_L) or p(x | z_1)


def _sizes(h):
    """One level's hidden setting as a list of layer sizes: 400 -> [400]; [200, 200] stays."""
    return list(h) if isinstance(h, (list, tuple)) else [h]


def _check_hidden(h, what):
    """A level's hidden setting (a positive int, or a non-empty list of them), else InputError.
    Returns it as an int or a list of ints (the form the config stores)."""
    if isinstance(h, (list, tuple)):
        if not h or any(isinstance(v, (list, tuple)) for v in h):
            raise InputError(f"{what} must be a size >= 1 or a non-empty list of sizes >= 1 (one per "
                             f"deterministic layer); got {list(h)!r}")
        return [check_positive_int(v, f"each size in {what}") for v in h]
    return check_positive_int(h, what)


class HierarchicalVAE:
    r"""An MLP hierarchical VAE, inferred top down or bottom up (see the module docstring).

    d_in : data dimension D
    latent_dims : sizes (L_1, ..., L_L) of the stochastic levels, bottom (next to x) first
    hidden : per level, bottom first, the deterministic layers' sizes: an int (one hidden
             layer, e.g. (400, 100)) or a list of sizes (several, e.g. [[200, 200], [100, 100]])
    decoder_reads : "all" (p(x | z_1, ..., z_L), the default) or "z1" (p(x | z_1))
    decoder_hidden : the decoder's hidden size(s) h_dec, an int or a list (default h_1)
    inference : "top-down" (the residual posterior q(z_l | z_{l+1}, x), the default) or
                "bottom-up" (Burda et al.'s q(z_l | z_{l-1}))
    likelihood, sigma, activation, rng, dtype : as for VAE
    """

    kind = "hvae"

    def __init__(self, d_in=784, latent_dims=(32, 16), hidden=(400, 100), likelihood="bernoulli",
                 sigma=0.1, activation="relu", rng=None, dtype=np.float32, decoder_reads="all",
                 decoder_hidden=None, inference="top-down"):
        check_likelihood(likelihood)
        d_in = check_positive_int(d_in, "d_in")
        latent_dims = [check_positive_int(k, "each latent size") for k in latent_dims]
        if isinstance(hidden, (int, np.integer, str)):
            raise InputError(f"hidden must list one entry per level (a size or a list of sizes); got {hidden!r}")
        hidden = [_check_hidden(h, "each level's hidden setting") for h in hidden]
        if not latent_dims or len(hidden) != len(latent_dims):
            raise InputError(f"latent_dims and hidden need one positive size per level (as many of "
                             f"each); got latent_dims={latent_dims}, hidden={hidden}")
        if activation not in ACTIVATIONS:
            raise InputError(f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}")
        if decoder_reads not in DECODER_READS:
            raise InputError(f"decoder_reads must be 'all' (p(x | z_1, ..., z_L)) or 'z1' (p(x | z_1)); "
                             f"got {decoder_reads!r}")
        if inference not in INFERENCES:
            raise InputError(f"inference must be 'top-down' (q(z_l | z_{{l+1}}, x), NVAE's residual "
                             f"posterior) or 'bottom-up' (q(z_l | z_{{l-1}}), Burda et al.'s); got {inference!r}")
        decoder_hidden = hidden[0] if decoder_hidden is None else _check_hidden(decoder_hidden, "decoder_hidden")
        sigma, dtype = check_sigma(sigma), check_dtype(dtype)
        count = self.parameter_count({"d_in": d_in, "latent_dims": latent_dims, "hidden": hidden,
                                      "likelihood": likelihood, "decoder_reads": decoder_reads,
                                      "decoder_hidden": decoder_hidden, "inference": inference})
        # params, grads, and the optimizer's m, v and scratch: five arrays per parameter
        check_fits(5 * count * dtype.itemsize, f"a model with {count:,} parameters (with gradients and Adam's state)")
        rng = np.random.default_rng(0) if rng is None else rng
        self.d_in, self.latent_dims, self.hidden = d_in, latent_dims, hidden
        self.likelihood, self.sigma, self.dtype = likelihood, sigma, dtype
        self.decoder_reads, self.inference = decoder_reads, inference
        self.n_levels = L = len(latent_dims)
        self.config = {"kind": self.kind, "d_in": d_in, "latent_dims": latent_dims,
                       "hidden": hidden, "likelihood": likelihood, "sigma": sigma,
                       "activation": activation, "dtype": self.dtype.name,
                       "decoder_reads": decoder_reads, "decoder_hidden": decoder_hidden,
                       "inference": inference}
        net = dict(rng=rng, activation=activation, dtype=dtype)
        # Lists indexed by i = l - 1 for level l (level 1 is next to x).
        sizes = self._sizes = [_sizes(h) for h in hidden]       # sizes[i]: level l's layer sizes
        self._inference = INFERENCE[inference]                  # its networks and five steps
        self.up, self.top, self.encoders, self.posterior = [], None, [], [None] * (L - 1)
        if inference == "top-down":
            self.up, self.top, self.prior, self.posterior, nets = hierarchical_top_down.networks(
                d_in, latent_dims, sizes, net, activation)
        else:
            self.encoders, self.prior, nets = hierarchical_bottom_up.networks(d_in, latent_dims, sizes, net)
        decoder_in = sum(latent_dims) if decoder_reads == "all" else latent_dims[0]
        self.decoder = mlp([decoder_in, *_sizes(decoder_hidden), decoder_width(likelihood, d_in)], **net)
        self.samplers = [GaussianSampler() for _ in range(L)]
        nets = nets + [("decoder", self.decoder)]
        self.params = {f"{name}.{k}": v for name, n in nets for k, v in n.params.items()}
        self.grads = {f"{name}.{k}": v for name, n in nets for k, v in n.grads.items()}
        self.kl_per_level = None

    @staticmethod
    def parameter_count(config):
        """How many numbers the model of config has, counted without building it (the sizes of
        the networks built in __init__)."""
        d, lat = config["d_in"], list(config["latent_dims"])
        hid = [_sizes(h) for h in config["hidden"]]
        L, out = len(lat), decoder_width(config.get("likelihood", "bernoulli"), config["d_in"])
        decoder_in = sum(lat) if config.get("decoder_reads", "all") == "all" else lat[0]
        decoder_hidden = _sizes(config.get("decoder_hidden") or config["hidden"][0])

        shared = (sum(dense_count(lat[i + 1], *hid[i + 1], 2 * lat[i]) for i in range(L - 1))   # prior
                  + dense_count(decoder_in, *decoder_hidden, out))                             # decoder
        return shared + INFERENCE[config.get("inference", "top-down")].parameter_count(d, lat, hid)

    # -- the two passes: the inference module's ---------------------------------------------
    def _features(self, x):
        """The deterministic part of q, once per example (the inference module's features)."""
        return self._inference.features(self, x)

    def _levels(self, d, rng=None, eps=None):
        """The stochastic pass on the rows of d (from _features, possibly tiled): [Level] bottom first."""
        return self._inference.levels(self, d, rng=rng, eps=eps)

    def _check_eps(self, eps):
        if eps is None:
            return None
        if not isinstance(eps, (list, tuple)) or len(eps) != self.n_levels:
            raise InputError(f"eps must be a list of {self.n_levels} arrays, one (N, L_l) per "
                             f"level, bottom first (latent_dims {self.latent_dims})")
        return [np.asarray(e, dtype=self.dtype) for e in eps]

    # -- training -------------------------------------------------------------------------------
    def loss(self, x, rng=None, eps=None, beta=1.0):
        r"""The negative ELBO of the batch x (N, D), one z per level and example.

        Pass rng to draw the noise, or eps, a list of (N, L_l) arrays bottom first, to fix it.
        Returns LossParts(loss, reconstruction, kl) in nats per example, kl the sum over
        levels; self.kl_per_level lists the levels' KLs, bottom first.

            -ELBO = -log p(x|z) + beta ( KL_L + sum_{l<L} KL_l )

        Top-down inference: every KL_l exact at the drawn z_{l+1}. Bottom-up: KL_L exact, and for
        l < L KL_l = E_q[log q(z_l|z_{l-1})] - log p(z_l | z_{l+1}) at the drawn z_l, z_{l+1}
        (hierarchical_bottom_up.kl_entropy_and_sampled_prior; its module docstring says why).
        """
        x = check_batch(x, self.d_in, dtype=self.dtype)
        check_targets(x, self.likelihood)
        eps = self._check_eps(eps)
        d = self._features(x)
        levels = self._levels(d, rng=rng, eps=eps)
        out = self.decode([lev.z for lev in levels])                             # (N, D)
        reconstruction, self._dout = nll(out, x, self.likelihood, self.sigma)   # -log p(x|z)
        top = levels[-1]
        kl_top, dmu, dlog_var = kl_standard_normal(top.mu_q, top.log_var_q)     # KL_L
        kls, dlevels = [], []
        for lev in levels[:-1]:                      # KL_l, l < L, and its direct partials
            kl, dlevel = self._inference.level_kl(lev, beta)
            kls.append(kl)
            dlevels.append(dlevel)
        dlevels.append(Level(beta * dmu, beta * dlog_var, None, None, 0.0))  # p(z_L) has no parameters
        self.kl_per_level = kls + [kl_top]
        self._dlevels = dlevels                      # the KL terms' gradients, z_l held fixed
        self._x, self._out = x, out
        kl = float(sum(self.kl_per_level))
        return LossParts(reconstruction + beta * kl, reconstruction, kl)

    def backward(self, need_dx=False):
        r"""Fill self.grads with d(-ELBO)/d(params) for the last call to loss.

        With top-down inference -ELBO's KL terms depend on each level's (mu_q, lv_q, mu_p, lv_p)
        directly, but not on the sampled z_l itself (the KL is the expectation over z_l, in
        closed form):
            direct dmu_q = beta dKL_l/dmu_q,  ...,  direct dz_l = 0
        With bottom-up inference the terms of the levels below the top read z_l too
        (hierarchical_bottom_up.level_kl's dz). _backward_levels and _backward_features carry
        these, and the decoder's gradient, through the rest of the model.
        Returns dx (N, D) if need_dx (through the encoder, plus the target term), else None.
        """
        dd = self._backward_levels(self._dout, self._dlevels, need_dx)
        dx = self._backward_features(dd, need_dx)
        if not need_dx:
            return None
        return dx + nll_target_gradient(self._out, self._x, self.likelihood, self.sigma)

    def _backward_levels(self, dout, dlevels, need_dx):
        """The chain rule through the decoder and the stochastic pass (the inference module's
        backward_levels); returns dd, the gradients of the features _features made."""
        return self._inference.backward_levels(self, dout, dlevels, need_dx)

    def _backward_features(self, dd, need_dx):
        """The chain rule through _features: dd (one row per example) -> dLoss/dx (N, D) if
        need_dx, else None (the inference module's backward_features)."""
        return self._inference.backward_features(self, dd, need_dx)

    # -- the importance-weighted bound (iwae.ImportanceWeighted calls these) ------------------
    def log_weights(self, x, k, rng=None, eps=None):
        r"""The parts of log w for k samples per example, the rows of the bound L_k:

            log w_sn = log p(x_n | z_sn) + beta sum_l [ log p(z_l | z_{l+1}) - log q(z_l | z_{l+1}, x_n) ]

        (the caller, iwae.ImportanceWeighted, adds them up with its beta). The bottom-up
        features of x (bottom-up inference: q(z_1|x)'s parameters) are computed once per example
        and tiled to k N rows, row (s, n) = s N + n; the stochastic pass and the decoder then
        run once on all k N rows. (evaluate.log_likelihood and iwae.ImportanceWeighted call this.)

        x : ndarray of shape (N, D)
        eps : None (drawn from rng in the sampling order, as loss does) or a list, bottom first,
              of (k, N, L_l) arrays
        Returns (log_px_z, log_ratio), each of shape (k, N): log p(x|z) and
        sum_l [ log p(z_l|z_{l+1}) - log q(z_l|z_{l+1}, x) ] (the top level's prior is N(0, I)).
        Remembers what backward_log_weights needs.
        """
        x = check_batch(x, self.d_in, dtype=self.dtype)
        check_targets(x, self.likelihood)
        n, rows = len(x), k * len(x)
        widths = (decoder_width(self.likelihood, self.d_in) + self.d_in     # per row: the decoder,
                  + 2 * sum(_sizes(self.config["decoder_hidden"]))          # its hidden layers,
                  + 3 * sum(map(sum, self._sizes)) + 6 * sum(self.latent_dims))   # features, levels
        check_fits(rows * widths * self.dtype.itemsize,
                   f"the importance-weighted bound at k = {k} samples for {n} examples")
        if eps is not None:
            if not isinstance(eps, (list, tuple)) or len(eps) != self.n_levels or any(
                    np.shape(e) != (k, n, size) for e, size in zip(eps, self.latent_dims)):
                raise InputError(f"eps must be a list of {self.n_levels} arrays, one (k, N, L_l) = "
                                 f"{[(k, n, size) for size in self.latent_dims]} per level, bottom first")
            eps = [check_batch(np.reshape(e, (rows, size)), size, name="eps", dtype=self.dtype)
                   for e, size in zip(eps, self.latent_dims)]                     # (k N, L_l) each
        d = self._features(x)                                                       # once per example
        ds = [np.tile(di, (k, 1)) for di in d]                                      # (k N, .) rows
        levels = self._levels(ds, rng=rng, eps=eps)
        out = self.decode([lev.z for lev in levels])                                # (k N, width)
        log_px_z = -nll_per_example(out, ds[0], self.likelihood, self.sigma)        # log p(x|z)  (k N,)
        log_ratio = sum(log_normal(lev.z, lev.mu_p, lev.log_var_p)                  # log p(z_l | z_{l+1})
                        - log_normal(lev.z, lev.mu_q, lev.log_var_q)                # - log q(z_l | z_{l+1}, x)
                        for lev in levels)                                          # (k N,)
        self._iw = {"levels": levels, "out": out, "x_rows": ds[0]}
        return log_px_z.reshape(k, n), log_ratio.reshape(k, n)

    def backward_log_weights(self, c, beta, need_dx=False):
        r"""Fill self.grads with the gradient of  sum_{s,n} c_sn (-log w_sn),  c held fixed, for the
        last call to log_weights. Returns its gradient with respect to x (N, D) if need_dx.

        c : ndarray of shape (k, N), the normalized importance weights divided by N
            (iwae.py derives why -L_k's gradient is this weighted sum, step 1 there).
        beta : the weight of sum_l [ log p - log q ] inside log w, as in log_weights.

        The gradient, by hand. For one row r = (s, n), with weight c = c_sn,
            -log w = -log p(x|z) + beta sum_l [ log q(z_l | z_{l+1}, x) - log p(z_l | z_{l+1}) ]
        1. -log p(x|z): the decoder's output gradient, the likelihood's own per row, times c.
        2. Each level's log-density ratio depends on the level's q and p parameters and on the
           sampled z_l itself (unlike the ELBO's closed-form KL, which has no z_l term). With
           log_normal_gradients' partials of log N(z; mu, lv),
               r_q = (z_l - mu_q) exp(-lv_q),      r_p = (z_l - mu_p) exp(-lv_p),
           the direct terms of row r, all else held fixed, are
               dmu_q =  c beta r_q                      d log q / dmu_q
               dlv_q =  c beta ( (z_l - mu_q) r_q - 1 ) / 2
               dmu_p = -c beta r_p                      -d log p / dmu_p
               dlv_p = -c beta ( (z_l - mu_p) r_p - 1 ) / 2
               dz_l  =  c beta ( r_p - r_q )            d log q / dz - d log p / dz
           At the top p(z_L) = N(0, I) has no parameters, and its r_p is z_L.
        3. hierarchical_top_down.backward_levels carries these through z_l = mu_q + sigma_q eps, the residual
           mu_q = mu_p + delta_mu, prior_l, posterior_l, top and the decoder, on the k N rows
           (bottom-up inference: hierarchical_bottom_up.backward_levels, through prior_l, encoder_l and the decoder;
           there q is q(z_l | z_{l-1}) and the same five direct terms hold).
           (At fixed eps, log q = -1/2 sum_j (eps_j^2 + lv_q,j + log 2 pi): its path through z_l
           and its direct terms cancel in mu_q. The code keeps both paths, as derived; the
           tests check the sum against finite differences.)
        4. Every d_i was tiled to k rows, so dLoss/dd_i (N, .) sums its k rows (s, n) over s;
           the inference module's backward_features takes that down to x. Also x_n is the decoder's target in k
           rows: its direct term sums those rows too.
        For k = 1, c = 1/N, and this is the gradient of the one-sample ELBO with a Monte Carlo
        KL at every level; with one level, the VAE's (iwae.py, step 3).
        """
        iw = self._iw
        k, n = c.shape
        c_rows = c.reshape(k * n, 1)                                      # c_r, row r = (s, n)
        # -log p(x|z) per row: nll() gives the gradient of the mean over the kN rows, i.e.
        # each row's own gradient / (kN); row r weighs c_r, so rescale by kN c_r.
        _, dout = nll(iw["out"], iw["x_rows"], self.likelihood, self.sigma)   # (kN, width)
        row_weight = k * n * c_rows
        dout = dout * row_weight                                          # c_r d(-log p(x|z_r))/d out
        cb = beta * c_rows                                                # c beta   (kN, 1)
        dlevels = []
        for lev in iw["levels"]:
            r_q, dlv_q = log_normal_gradients(lev.z, lev.mu_q, lev.log_var_q)   # d log q / d(mu_q, lv_q)
            r_p, dlv_p = log_normal_gradients(lev.z, lev.mu_p, lev.log_var_p)   # d log p / d(mu_p, lv_p)
            dlevels.append(Level(cb * r_q, cb * dlv_q, -cb * r_p, -cb * dlv_p, cb * (r_p - r_q)))
        dd = self._backward_levels(dout, dlevels, need_dx)                 # (k N, .) rows
        dd = [None if g is None else g.reshape(k, n, -1).sum(axis=0) for g in dd]   # (N, .) each
        dx = self._backward_features(dd, need_dx)
        if not need_dx:
            return None
        dtarget = nll_target_gradient(iw["out"], iw["x_rows"], self.likelihood, self.sigma)
        return dx + np.sum((dtarget * row_weight).reshape(k, n, -1), axis=0)   # x_n is in k rows

    # -- using a trained model ----------------------------------------------------------------
    def encode(self, x):
        r"""x (N, D) -> [(mu_q, log_var_q)] per level, bottom first, each (N, L_l).

        The lower levels' posteriors depend on the level above (top-down inference; with
        bottom-up inference the upper levels' on the level below); here each is taken at the
        posterior mean of the level it reads (eps = 0), so the answer is deterministic.
        """
        x = check_batch(x, self.d_in, dtype=self.dtype)
        levels = self._levels(self._features(x), eps=self._zeros(len(x)))
        return [(lev.mu_q, lev.log_var_q) for lev in levels]

    def decode(self, z):
        """[z_1, ..., z_L] (each (N, L_l), bottom first) -> the decoder's output (N, D), logits
        or means ((N, 2D) for gaussian-learned). It reads [z_1, ..., z_L] side by side, or z_1
        alone if decoder_reads is "z1"."""
        if not isinstance(z, (list, tuple)) or len(z) != self.n_levels:
            raise InputError(f"decode takes [z_1, ..., z_L], a list of {self.n_levels} arrays (N, L_l) "
                             f"bottom first (latent_dims {self.latent_dims}); got {type(z).__name__}"
                             + (f" of length {len(z)}" if isinstance(z, (list, tuple)) else ""))
        if self.decoder_reads == "z1":
            return self.decoder.forward(z[0])
        return self.decoder.forward(np.concatenate(z, axis=1))

    def _split_levels(self, dz):
        """The decoder's input gradient (N, decoder input) -> one (N, L_l) array per level,
        bottom first (zeros for the levels the decoder does not read)."""
        if self.decoder_reads == "z1":
            return [dz] + [0.0] * (self.n_levels - 1)
        return np.split(dz, np.cumsum(self.latent_dims)[:-1], axis=1)

    def reconstruct(self, x):
        """x (N, D) -> E[x | z] (N, D) at the posterior means, level by level from the top."""
        mu = [mu_l for mu_l, _ in self.encode(x)]
        return mean_image(self.decode(mu), self.likelihood, self.d_in)

    def prior_sample(self, n, rng=None, fixed=None, mean=False):
        r"""Draw n z's from the generative model, top down: [z_1, ..., z_L], each (n, L_l).

        fixed : None or a list, bottom first, of None or arrays (n, L_l) (or (L_l,), used for
                every sample): those levels are held at the given value, and the levels below
                are drawn from p(z_l | z_{l+1}) given them. Fix the top and redraw the rest to
                see what the lower levels encode.
        mean : take each free level at its prior mean instead of drawing it (rng unused).
        """
        L = self.n_levels
        fixed = [None] * L if fixed is None else list(fixed)
        if len(fixed) != L:
            raise InputError(f"fixed must list {L} entries (None or an array), bottom first")
        z = [None] * L
        for i in range(L - 1, -1, -1):
            if fixed[i] is not None:
                z[i] = np.broadcast_to(np.asarray(fixed[i], dtype=self.dtype), (n, self.latent_dims[i]))
                continue
            if i == L - 1:
                mu, sigma = np.zeros((n, self.latent_dims[i]), self.dtype), 1.0   # p(z_L) = N(0, I)
            else:
                mu, log_var = split(self.prior[i].forward(z[i + 1]))          # p(z_l | z_{l+1})
                sigma = sigma_from_log_var(log_var)
            z[i] = mu if mean else mu + sigma * rng.standard_normal(mu.shape, dtype=self.dtype)
        return z

    def sample(self, n, rng, fixed=None):
        """n samples from the model: z_L, ..., z_1 top down, then E[x|z]. Returns (n, D)."""
        z = self.prior_sample(n, rng, fixed=fixed)
        return mean_image(self.decode(z), self.likelihood, self.d_in)

    def generate(self, z):
        """z_L (N, L_L), top-level codes -> E[x|z] (N, D), the lower levels at their prior
        means. With one level this is VAE.generate."""
        z = np.asarray(z, dtype=self.dtype)
        zs = self.prior_sample(len(z), fixed=[None] * (self.n_levels - 1) + [z], mean=True)
        return mean_image(self.decode(zs), self.likelihood, self.d_in)

    def _zeros(self, n):
        return [np.zeros((n, k), self.dtype) for k in self.latent_dims]

    # -- evaluation ---------------------------------------------------------------------------
    def elbo_parts(self, x, seed=0, batch_size=1000):
        """-ELBO of x (N, D) in nats per example with its parts, one draw per level and example.

        Returns dict: loss, reconstruction, kl (the total), kl_per_level (bottom first).
        """
        rng = np.random.default_rng(seed)
        x = check_batch(x, self.d_in, dtype=self.dtype)
        sums = np.zeros(3 + self.n_levels)
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size]
            parts = self.loss(xb, rng=rng)
            sums += len(xb) * np.array([*parts, *self.kl_per_level])
        sums /= len(x)
        return {"loss": float(sums[0]), "reconstruction": float(sums[1]), "kl": float(sums[2]),
                "kl_per_level": [float(v) for v in sums[3:]]}

    def latent_diagnostics(self, x, threshold=1e-2):
        r"""Per-level, per-dimension KL and active units (as evaluate.latent_diagnostics).

        Each level is taken along the posterior-mean path (encode): KL_lj is the KL of
        dimension j of q(z_l | z_{l+1}, x) (bottom-up: q(z_l | z_{l-1})) from p(z_l | z_{l+1}),
        both at the path's z, averaged over x, and
        A_lj = Var_x( mu_q,lj(x) ); a dimension is active if A_lj > threshold.
        Returns a list, bottom first, of dicts kl_per_dim (L_l,), activity (L_l,), active_units.
        """
        x = check_batch(x, self.d_in, dtype=self.dtype)
        levels = self._levels(self._features(x), eps=self._zeros(len(x)))
        out = []
        for lev in levels:
            args = [a.astype(np.float64) for a in lev[:4]]
            kl = np.array([kl_diag_gaussians(*(a[:, [j]] for a in args))[0]
                           for j in range(lev.mu_q.shape[1])])
            activity = args[0].var(axis=0)
            out.append({"kl_per_dim": kl, "activity": activity,
                        "active_units": int(np.sum(activity > threshold))})
        return out
