r"""Bottom-up inference for the hierarchical VAE (Burda, Grosse & Salakhutdinov 2016):
HierarchicalVAE(inference="bottom-up").

Each level's posterior reads the *sample* of the level below, and the levels are drawn
bottom first (z_0 = x):

    q(z_l | z_{l-1})      = N(mu_q, diag(exp(lv_q))),  (mu_q, lv_q) = encoder_l(z_{l-1})   l = 1..L
    q(z | x)              = prod_l q(z_l | z_{l-1})

The generative model is the hierarchy's (p(z_L) = N(0, I), p(z_l | z_{l+1}) = prior_l(z_{l+1}));
with decoder_reads="z1" this is exactly Burda et al.'s L-layer model. Its ELBO,

    ELBO = E_q[ log p(x|z) + sum_l ( log p(z_l | z_{l+1}) - log q(z_l | z_{l-1}) ) ],

has fewer closed forms than the top-down one: z_{l+1} is drawn *after* z_l (it depends on it),
so log p(z_l | z_{l+1}) has no expectation over z_l in closed form. What is exact:

    E_q(z_l|z_{l-1})[ log q(z_l | z_{l-1}) ] = -1/2 sum_j ( 1 + lv_q,j + log 2 pi )   (minus the entropy)
    E_q(z_L|z_{L-1})[ log q(z_L|.) - log p(z_L) ] = KL( q(z_L | z_{L-1}) || N(0, I) )

so the loss takes the top level's KL in closed form and, for l < L, the level's term
KL_l = -H[q(z_l|z_{l-1})] - log p(z_l | z_{l+1}) with the entropy exact and log p at the drawn
z_l, z_{l+1}: an unbiased one-sample estimate (it can be negative for a batch), whose sum over
levels estimates KL( q(z|x) || p(z) ). (Burda et al.'s code samples every term:
iwae.ImportanceWeighted(model, 1), i.e. ``--objective iwae --k 1``, is that estimator.)
The direct partial derivatives of one example's KL_l (l < L), with r_p = (z_l - mu_p) exp(-lv_p)
(log_normal_gradients):

    dKL_l/dlv_q = -1/2     dKL_l/dmu_p = -r_p     dKL_l/dlv_p = -( (z_l - mu_p) r_p - 1 ) / 2
    dKL_l/dz_l  = +r_p     dKL_l/dmu_q = 0

The chain rule then runs backwards through the sampling order (backward_levels): the
priors first (prior_l reads z_{l+1}), then from the top level down, each level's
dLoss/dz_l collecting its direct term, the decoder's, prior_{l-1}'s and encoder_{l+1}'s
input gradients before the sampler z_l = mu_q + sigma_q eps hands it to encoder_l.

Networks: encoder_l  z_{l-1} -> h_l -> 2 L_l  (mu_q, lv_q)  (z_0 = x),  q(z_l|z_{l-1}), and the
hierarchy's prior_l and decoder. Burda et al.'s two-layer model is latent_dims=[100, 50],
hidden=[[200, 200], [100, 100]], decoder_hidden=[200, 200], decoder_reads="z1", tanh:
encoder_1 784-200-200-(2x100), encoder_2 100-100-100-(2x50), prior_1 50-100-100-(2x100),
decoder 100-200-200-784. Each function below takes the model m and reads its networks
(m.encoders, m.prior, m.samplers, m.decoder).
"""
import numpy as np

from .hierarchical_levels import Level, dense_count, log_normal, log_normal_gradients, split
from .layers import mlp
from .losses import LOG_2PI


def networks(d_in, latent_dims, sizes, net):
    """Build the encoders and the priors, in the order their weights are drawn.

    Returns (encoders, prior, named): the networks, and [(name, network)] in the order of
    model.params ("encoder1", ..., "prior1", ...).
    """
    L = len(latent_dims)
    inputs = [d_in] + latent_dims[:-1]                                     # z_0 = x, z_1, ...
    encoders = [mlp([inputs[i], *sizes[i], 2 * latent_dims[i]], **net)      # z_{l-1} -> q(z_l|.)
                for i in range(L)]
    prior = [None] * (L - 1)
    for i in range(L - 2, -1, -1):                                         # top down
        prior[i] = mlp([latent_dims[i + 1], *sizes[i + 1], 2 * latent_dims[i]], **net)
    named = ([(f"encoder{i + 1}", n) for i, n in enumerate(encoders)]
             + [(f"prior{i + 1}", n) for i, n in enumerate(prior)])
    return encoders, prior, named


def parameter_count(d_in, latent_dims, sizes):
    """How many numbers the encoders have (the priors are counted by the model)."""
    inputs = [d_in] + list(latent_dims[:-1])
    return sum(dense_count(inputs[i], *sizes[i], 2 * latent_dims[i]) for i in range(len(latent_dims)))


def features(m, x):
    """The deterministic part of q, once per example: [x, q(z_1|x)'s parameters (N, 2 L_1)]
    (encoder_1 reads x alone)."""
    return [x, m.encoders[0].forward(x)]                         # (N, D), (N, 2 L_1)


def levels(m, d, rng=None, eps=None):
    r"""The posterior level by level from the bottom, each level reading the sample of the
    level below; then every prior at the drawn level above.

        (mu_q, lv_q) = encoder_l(z_{l-1}),   z_l = mu_q + exp(lv_q / 2) eps_l      (z_0 = x)
        (mu_p, lv_p) = prior_l(z_{l+1})  for l < L;   p(z_L) = N(0, I)

    d : [x, q(z_1|x)'s parameters] from features().  eps : None or a list, bottom first, of
    (N, L_l) arrays (None draws every level's noise from rng, bottom first). Returns [Level].
    """
    L = m.n_levels
    eps = [None] * L if eps is None else eps
    q, z = [None] * L, [None] * L
    for i in range(L):
        h = d[1] if i == 0 else m.encoders[i].forward(z[i - 1])         # (N, 2 L_l)
        q[i] = split(h)                                                  # q(z_l | z_{l-1})
        z[i] = m.samplers[i].forward(*q[i], rng=rng, eps=eps[i])         # (N, L_l)
    out = []
    for i in range(L):
        if i == L - 1:
            mu_p = log_var_p = np.zeros_like(z[i])                       # p(z_L) = N(0, I)
        else:
            mu_p, log_var_p = split(m.prior[i].forward(z[i + 1]))        # p(z_l | z_{l+1})
        out.append(Level(*q[i], mu_p, log_var_p, z[i]))
    return out


def kl_entropy_and_sampled_prior(z, log_var_q, mu_p, log_var_p):
    r"""The term of level l < L: E_q[ log q(z_l | z_{l-1}) ] exactly (minus q's entropy) and
    -log p(z_l | z_{l+1}) at the drawn z, per example, averaged over the batch.

    z, log_var_q, mu_p, log_var_p : ndarrays of shape (N, L)

        KL^ = 1/N sum_n [ -1/2 sum_j ( 1 + lv_q,j + log 2 pi ) - log N(z; mu_p, diag(exp(lv_p))) ]

    Its direct partial derivatives (z, lv_q, mu_p and lv_p each held apart), r_p = (z - mu_p) exp(-lv_p):
        dKL^/dlv_q = -1 / (2 N)
        dKL^/dmu_p = -r_p / N                       (-d log N / dmu_p, log_normal_gradients)
        dKL^/dlv_p = -( (z - mu_p) r_p - 1 ) / (2 N)
        dKL^/dz    =  r_p / N                       (-d log N / dz)
    Returns (kl, dlog_var_q, dmu_p, dlog_var_p, dz): a float and four (N, L) arrays.
    """
    n = z.shape[0]
    neg_entropy = -0.5 * np.sum(1 + log_var_q + LOG_2PI, axis=-1)            # E_q[log q]  (N,)
    kl = float(np.mean(neg_entropy - log_normal(z, mu_p, log_var_p)))
    r_p, dlog_var_p = log_normal_gradients(z, mu_p, log_var_p)               # d log p / d(mu_p, lv_p)
    return kl, np.full_like(log_var_q, -0.5 / n), -r_p / n, -dlog_var_p / n, r_p / n


def level_kl(lev, beta):
    """KL_l of a level below the top: -H[q] exact, -log p(z_l|z_{l+1}) sampled, and its direct
    partial derivatives times beta, as a Level (dmu_q = 0). Returns (kl, Level)."""
    kl, dlog_var_q, dmu_p, dlog_var_p, dz = kl_entropy_and_sampled_prior(
        lev.z, lev.log_var_q, lev.mu_p, lev.log_var_p)
    return kl, Level(beta * 0.0, beta * dlog_var_q, beta * dmu_p, beta * dlog_var_p, beta * dz)


def backward_levels(m, dout, dlevels, need_dx):
    r"""The chain rule through the decoder, the priors and encoder_2..L; fills their grads.
    dout and dlevels as for hierarchical_top_down.backward_levels (every level's direct dmu_p
    and dlog_var_p are read but the top's). Returns dd = [None, dLoss/d(q(z_1|x)'s
    parameters) (R, 2 L_1)].

    The forward order was: encoder_1 .. encoder_L (each level's z drawn from the one
    below), then prior_l(z_{l+1}), then the decoder. Backwards:
        1. the decoder:          dz_l  = its input gradient (z_1 alone if decoder_reads="z1")
                                         + the direct term of level l
        2. each prior_l:         dz_{l+1} += prior_l's input gradient, fed [dmu_p, dlv_p]
                                 (the direct terms: nothing else reads mu_p, lv_p)
        3. from the top level down, dz_l now complete:
           z_l = mu_q + sigma_q eps    dmu_q = dz_l + direct,  dlv_q = dz_l eps sigma_q / 2 + direct
           (mu_q, lv_q) = encoder_l(z_{l-1})   dz_{l-1} += encoder_l's input gradient  (l > 1)
    """
    L = m.n_levels
    dz = [g + lev.z for g, lev in zip(m._split_levels(m.decoder.backward(dout)), dlevels)]
    for i in range(L - 1):                                     # prior_l reads z_{l+1}
        g = dlevels[i]
        dz[i + 1] = dz[i + 1] + m.prior[i].backward(np.concatenate([g.mu_p, g.log_var_p], axis=1))
    for i in range(L - 1, -1, -1):                             # levels L .. 1, downwards
        g = dlevels[i]
        dmu_q, dlog_var_q = m.samplers[i].backward(dz[i])      # through z_l = mu_q + sigma eps
        dh = np.concatenate([dmu_q + g.mu_q, dlog_var_q + g.log_var_q], axis=1)   # (R, 2 L_l)
        if i == 0:
            return [None, dh]                                  # to encoder_1, once per example
        dz[i - 1] = dz[i - 1] + m.encoders[i].backward(dh)     # encoder_l reads z_{l-1}


def backward_features(m, dd, need_dx):
    """The chain rule through features(): dd[1] (one row per example) -> dLoss/dx (N, D) if
    need_dx, else None; fills encoder_1's grads ((mu_q, lv_q) = encoder_1(x))."""
    return m.encoders[0].backward(dd[1], need_dx=need_dx)
