r"""The importance-weighted objective (IWAE; Burda, Grosse & Salakhutdinov 2016).

For one example x and k samples z_s = mu + sigma * eps_s from q(z|x) (the encoder's):

    w_s   = p(x|z_s) p(z_s) / q(z_s|x)                        an importance weight
    L_k   = E[ log (1/k) sum_{s=1..k} w_s ]                     (Burda et al. 2016)

L_1 is the ELBO (blog Eq. 4) with a Monte Carlo KL; L_k <= L_{k+1} <= log p(x) in
expectation, and L_k -> log p(x) as k -> infinity. Training on L_k trains the same model
(encoder, decoder, prior) as the VAE; only the objective changes: the decoder is asked to
explain x well on average over k posterior guesses, weighted by how good each guess is.

``ImportanceWeighted(model, k)`` wraps a VAE or a HierarchicalVAE and offers the model's
training interface: ``loss(x, rng=None, eps=None, beta=1.0)`` and ``backward(need_dx=False)``,
which fills ``model.grads``. It needs two things of the model, the one log-weight interface
every latent-variable model offers:

    model.log_weights(x, k, rng=None, eps=None)   -> log p(x|z_s), log p(z_s) - log q(z_s|x)   (k, N) each
    model.backward_log_weights(c, beta, need_dx)  -> the gradient of sum_{s,n} c_sn (-log w_sn)

(evaluate.log_likelihood uses the same log_weights). Step 1 below is this module's and holds
for any model; steps 2 and 3 are the VAE's, computed by VAE.backward_log_weights (vae.py).
For a HierarchicalVAE, z = (z_1, ..., z_L), p(z) and q(z|x) are products over the levels,
and log w sums every level's log p(z_l|z_{l+1}) - log q(z_l|z_{l+1}, x) (hierarchical.py,
HierarchicalVAE.log_weights and backward_log_weights, derives steps 2 and 3 level by level).

The gradient, derived by hand (one example n of a batch of N; c, w~ are held fixed)
------------------------------------------------------------------------------------
The loss is the batch mean  Loss = -1/N sum_n [ logsumexp_s(log w_sn) - log k ].

1. Through logsumexp:  d logsumexp_s(a_s) / d a_s = exp(a_s) / sum_t exp(a_t) = softmax_s(a)_s,
   so with the normalized weights w~_sn = w_sn / sum_t w_tn = softmax over s of log w_sn,

       dLoss / d log w_sn  =  -w~_sn / N  =:  -c_sn.

   Every remaining step differentiates  Loss = sum_{s,n} c_sn (-log w_sn)  with c fixed:
   the k one-sample losses -log w_s, weighted by how much each sample explains x.

2. -log w = -log p(x|z) + beta [ log q(z|x) - log p(z) ]      (beta = 1 is L_k; see loss()).

   - log p(x|z_s): the decoder, in one batched pass over the k*N rows (s, n); the
     likelihood's own gradient of -log p(x|z) per row, times c_sn.
   - log p(z) = -||z||^2 / 2 - L/2 log(2 pi)          so  d(-log p(z))/dz = z.
   - log q(z|x) = -1/2 sum_j [ (z_j - mu_j)^2 / sigma_j^2 + log_var_j + log(2 pi) ]
     depends on mu and log_var twice: through z = mu + sigma eps, and by itself:
         d log q / dz        = -(z - mu) / sigma^2 = -eps / sigma
         d log q / dmu       = +(z - mu) / sigma^2 = +eps / sigma          (z held fixed)
         d log q / dlog_var  = -1/2 + (z - mu)^2 / (2 sigma^2) = (eps^2 - 1) / 2

3. The path through z, via the sampler (dz/dmu = 1, dz/dlog_var = eps sigma / 2), and
   the direct terms, summed over the k samples:

       dz_sn       = c_sn [ d(-log p(x|z))/dz + beta z - beta eps / sigma ]
       dmu_n       = sum_s [ dz_sn + c_sn beta eps_sn / sigma_n ]
       dlog_var_n  = sum_s [ dz_sn eps_sn sigma_n / 2 + c_sn beta (eps_sn^2 - 1) / 2 ]

   (log q's two paths partly cancel: its total contribution is 0 to dmu and
   -beta sum_s c_sn / 2 = -beta / (2N) to dlog_var, because with eps fixed
   log q = -1/2 sum_j (eps_j^2 + log_var_j + log 2 pi). The code keeps both paths
   visible, as derived; the tests check the sum against finite differences.)

   Then the encoder's backward pass maps (dmu, dlog_var) to its parameters (and to x).
   For k = 1, c = 1/N and this is exactly the gradient of the one-sample ELBO with a Monte
   Carlo KL:  -log p(x|z) + beta (log q(z|x) - log p(z)).
"""
from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp

from .checks import check_batch, check_beta
from .errors import InputError
from .likelihoods import check_targets


def effective_sample_size(log_w):
    r"""How many of the k samples carry the weight: 1 / sum_s w~_s^2, per example: shape (N,).

    log_w : ndarray of shape (k, N);  w~ = softmax over the k samples = w_s / sum_t w_t.
    k when all weights are equal (q = p(z|x) makes every w_s = p(x)), near 1 when one dominates.
    """
    w_tilde = np.exp(log_w - logsumexp(log_w, axis=0))                   # (k, N)
    return 1.0 / np.sum(w_tilde * w_tilde, axis=0)


class IWAEParts(NamedTuple):
    r"""Per-example values averaged over the batch, in nats.

    loss : -L_k, the negative importance-weighted bound.
    reconstruction : the ELBO's first part at the same samples, -log p(x|z_s) averaged
                     over the k samples (unweighted).
    kl : the ELBO's Monte Carlo KL at the same samples, log q(z_s|x) - log p(z_s), averaged
         over the k samples.

    reconstruction + beta kl is the negative of the k-sample-average one-sample ELBO, so
    loss <= reconstruction + beta kl for every draw of eps (Jensen: log of a mean >= mean
    of logs); the difference is how much the importance weighting tightened the bound.
    For k = 1 they are equal.
    """
    loss: float
    reconstruction: float
    kl: float


class ImportanceWeighted:
    r"""The negative importance-weighted bound -L_k of a VAE or a HierarchicalVAE, and its gradient.

    model : a VAE or a HierarchicalVAE (any model with log_weights and backward_log_weights)
    k : number of importance samples per example, k >= 1 (k = 1 is the ELBO with a
        Monte Carlo KL; for a HierarchicalVAE, a Monte Carlo KL at every level)

    eps, z : ndarray of shape (k, N, L) (a HierarchicalVAE: a list, bottom first, of
             (k, N, L_l));  log_w, w_tilde : ndarray of shape (k, N)
    """

    def __init__(self, model, k):
        if not hasattr(model, "log_weights"):
            raise InputError("the importance-weighted objective needs a VAE or a HierarchicalVAE (a model "
                             "with log_weights; an autoencoder defines no q(z|x) or p(z)); got "
                             f"{type(model).__name__}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"k (importance samples per example) must be an integer >= 1; got {k!r}")
        self.model, self.k = model, int(k)
        self.params, self.grads = model.params, model.grads
        self._c = None                        # what backward needs, from the last loss

    def loss(self, x, rng=None, eps=None, beta=1.0):
        r"""-L_k for the batch x (N, D), with k samples z_s per example.

        Pass rng (a numpy Generator) to draw eps, or eps (k, N, L) to fix the noise (for a
        HierarchicalVAE a list, bottom first, of (k, N, L_l) arrays).
        beta weighs log p(z) - log q(z|x) inside the weights (summed over the levels),
            log w_s = log p(x|z_s) + beta ( log p(z_s) - log q(z_s|x) ),
        so that k = 1 is the beta-weighted ELBO (KL warm-up works as for the VAE).
        Returns IWAEParts(loss, reconstruction, kl), floats in nats per example; the log
        weights stay in self.log_w (k, N).
        """
        m, k = self.model, self.k
        x = check_batch(x, m.d_in, dtype=m.dtype)
        check_targets(x, m.likelihood)
        check_beta(beta)
        if eps is None and rng is None:
            raise InputError("ImportanceWeighted.loss needs rng (a numpy Generator) or eps")
        n = len(x)
        log_px_z, log_ratio = m.log_weights(x, k, rng=rng, eps=eps)       # each (k, N)
        log_w = log_px_z + beta * log_ratio                                # (k, N)
        lse = logsumexp(log_w, axis=0)                                     # (N,)
        bound = lse - np.log(k)                                            # L_k per example
        self.log_w = log_w                                                 # kept for diagnostics
        self._c = np.exp(log_w - lse) / n                                  # c = w~ / N   (k, N)
        self._beta = beta
        return IWAEParts(float(-np.mean(bound)), float(-np.mean(log_px_z)),
                         float(np.mean(-log_ratio)))

    def backward(self, need_dx=False):
        r"""Fill model.grads with d(-L_k)/d(params) for the last call to loss (derivation above).

        Returns dx (N, D), the gradient with respect to the input, if need_dx: through the
        encoder, plus the direct term from x being the decoder's target in all k rows.
        """
        if self._c is None:
            raise InputError("backward() needs a loss to differentiate: call loss(x, rng=...) first.")
        return self.model.backward_log_weights(self._c, self._beta, need_dx=need_dx)
