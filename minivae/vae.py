r"""The variational autoencoder (Kingma & Welling 2014): encoder, sampler, decoder, -ELBO.

    encoder      x  ->  (mu, log_var)                q_phi(z|x) = N(mu, diag(exp(log_var)))
    sampler      z = mu + exp(log_var / 2) * eps     eps ~ N(0, I)   (reparameterization)
    decoder      z  ->  logits or Gaussian mean      p_theta(x|z)

    -ELBO(x) = E_q[ -log p(x|z) ] + beta KL( q(z|x) || p(z) )      (blog Eq. 4, beta = 1)
             ~=  -log p(x|z)  at one sample z,  + beta KL in closed form

``loss`` computes it (and remembers what backward needs); ``backward`` fills every
gradient in ``grads`` with one call. ``log_weights`` and ``backward_log_weights`` are the
same for k samples per example, log w = log p(x, z) - log q(z|x): the importance-weighted
bound (iwae.py derives its gradient) and the log-likelihood estimate (evaluate.py) use them.
"""
import numpy as np

from .checks import (check_batch, check_beta, check_fits, check_positive_int, check_sigma,
                     check_sigma_range)
from .errors import InputError
from .gaussian_head import GaussianHead
from .layers import Sequential
from .likelihoods import (VAE_LIKELIHOODS, check_likelihood, check_targets, decoder_width,
                          mean_image, nll, nll_per_example, nll_target_gradient)
from .losses import LOG_2PI, LossParts, kl_standard_normal
from .networks import build_networks, joint_params, network_config
from .sampler import GaussianSampler, sigma_from_log_var


class VAE:
    r"""A variational autoencoder with MLP (arch="mlp") or convolutional (arch="conv") networks.

    d_in : data dimension D (784 for MNIST)
    hidden : hidden layer sizes of an MLP encoder; the decoder mirrors them
    latent_dim : L
    likelihood : "bernoulli", "gaussian" (fixed sigma) or "gaussian-learned" (see likelihoods)
    sigma : the "gaussian" decoder's fixed standard deviation, in [1e-6, 1e6]
    rng : the numpy Generator that draws the initial weights. rng=None means
          np.random.default_rng(0): every model built without rng starts from the same weights.
    dtype : float32 or float64; inputs and noise are cast to it.
    channels, image_shape : for arch="conv", the two conv layers' channels and (C, H, W).

    The encoder is D -> hidden -> 2L (mu and log_var side by side);
    the decoder is L -> reversed(hidden) -> D (or 2D for "gaussian-learned").
    decoder_mean, sigma_range : a Gaussian decoder's last layer (minivae.gaussian_head):
        decoder_mean "sigmoid" squashes the means into (0, 1) (Kingma & Welling, App. C.2);
        sigma_range (sigma_min, None) floors a learned sigma, (sigma_min, sigma_max) bounds it.
    """

    kind = "vae"

    def __init__(self, d_in=784, hidden=(400,), latent_dim=20, likelihood="bernoulli",
                 sigma=0.1, activation="relu", rng=None, dtype=np.float32, arch="mlp",
                 channels=(32, 64), image_shape=None, decoder_mean="linear", sigma_range=None):
        check_likelihood(likelihood, VAE_LIKELIHOODS)
        self.config = {"kind": self.kind, "likelihood": likelihood, "sigma": check_sigma(sigma),
                       **network_config(d_in, hidden, latent_dim, activation, dtype, arch,
                                        channels, image_shape),
                       "decoder_mean": decoder_mean, "sigma_range": check_sigma_range(sigma_range)}
        self.d_in, self.latent_dim = self.config["d_in"], self.config["latent_dim"]
        self.likelihood, self.sigma, self.dtype = likelihood, self.config["sigma"], np.dtype(dtype)
        head = None                           # checked before anything is allocated
        if decoder_mean != "linear" or sigma_range is not None:
            if likelihood == "bernoulli":
                raise InputError("decoder_mean and sigma_range shape a Gaussian decoder's output; "
                                 "a Bernoulli decoder outputs logits")
            head = GaussianHead(self.d_in, likelihood == "gaussian-learned", decoder_mean, sigma_range)
        rng = np.random.default_rng(0) if rng is None else rng
        self.encoder, self.decoder = build_networks(
            self.config, 2 * self.latent_dim, decoder_width(likelihood, self.d_in) // self.d_in, rng)
        self.sampler = GaussianSampler()
        if head is not None:
            self.decoder = Sequential([*self.decoder.layers, head])   # no params: same keys
        self.params, self.grads = joint_params(self.encoder, self.decoder)
        self._last = None                     # what backward needs from the last loss

    # -- the three parts ----------------------------------------------------------------------
    def encode(self, x):
        """x (N, D) -> mu (N, L), log_var (N, L): the parameters of q(z|x)."""
        return self._encode(check_batch(x, self.d_in, dtype=self.dtype))

    def _encode(self, x):
        h = self.encoder.forward(x)                          # (N, 2L): mu and log_var side by side
        return h[:, :self.latent_dim], h[:, self.latent_dim:]

    def embed(self, x):
        """x (N, D) -> mu (N, L): where each example sits in latent space (for plots)."""
        return self.encode(x)[0]

    def decode(self, z):
        """z (N, L) -> decoder output (N, D) logits or means ((N, 2D) for gaussian-learned)."""
        return self.decoder.forward(z)

    # -- training -------------------------------------------------------------------------------
    def loss(self, x, rng=None, eps=None, beta=1.0):
        """The negative ELBO of the batch x (N, D), with one z per example.

        Pass rng (a numpy Generator) to draw eps, or eps (N, L) to fix the noise (cast to the
        model's dtype; NaN or Inf is an InputError).
        Returns LossParts(loss, reconstruction, kl), floats in nats per example.
        """
        x = check_batch(x, self.d_in, dtype=self.dtype)
        check_targets(x, self.likelihood)
        check_beta(beta)
        if eps is not None:
            eps = check_batch(eps, self.latent_dim, name="eps", dtype=self.dtype)
        mu, log_var = self._encode(x)                                            # (N, L) each
        z = self.sampler.forward(mu, log_var, rng=rng, eps=eps)                  # (N, L)
        out = self.decode(z)                                                     # (N, D)
        reconstruction, dout = nll(out, x, self.likelihood, self.sigma)          # E_q[-log p(x|z)]
        kl, dmu_kl, dlog_var_kl = kl_standard_normal(mu, log_var)                # KL(q || p(z))
        self._last = dict(x=x, out=out, dout=dout, dmu_kl=dmu_kl, dlog_var_kl=dlog_var_kl, beta=beta)
        return LossParts(reconstruction + beta * kl, reconstruction, kl)

    def backward(self, need_dx=False):
        """Fill self.grads with d(-ELBO)/d(params) for the last call to loss.

        Returns dx (N, D), the gradient with respect to the input, if need_dx: through the
        encoder, plus the direct term from x being the decoder's target too.
        """
        if self._last is None:
            raise InputError("backward() needs a loss to differentiate: call loss(x, rng=...) first.")
        c = self._last
        dz = self.decoder.backward(c["dout"])                       # (N, L)
        dmu, dlog_var = self.sampler.backward(dz)                   # through z = mu + sigma eps
        dh = np.concatenate([dmu + c["beta"] * c["dmu_kl"],         # plus the KL term's gradient
                             dlog_var + c["beta"] * c["dlog_var_kl"]], axis=1)     # (N, 2L)
        dx = self.encoder.backward(dh, need_dx=need_dx)
        if need_dx:
            dx += nll_target_gradient(c["out"], c["x"], self.likelihood, self.sigma)
        return dx

    # -- importance weights: the IWAE bound and the log-likelihood estimate ---------------------
    def log_weights(self, x, k, rng=None, eps=None):
        r"""The parts of log w for k samples per example z_s = mu + sigma eps_s ~ q(z|x):

            log w_sn = log p(x_n | z_sn) + [ log p(z_sn) - log q(z_sn | x_n) ]

        x : ndarray of shape (N, D)
        eps : None (drawn from rng, shape (k, N, L)) or an array of shape (k, N, L)
        Returns (log_px_z, log_ratio), each of shape (k, N); the caller weighs the second by
        beta (iwae.ImportanceWeighted) or adds them (evaluate.log_likelihood). Remembers what
        backward_log_weights needs. The decoder runs once on all k N rows, row (s, n) = s N + n.
        """
        x = check_batch(x, self.d_in, dtype=self.dtype)
        check_targets(x, self.likelihood)
        n, L = len(x), self.latent_dim
        rows = k * n                    # eps, z, the decoder's output and its targets, per row
        check_fits(rows * (decoder_width(self.likelihood, self.d_in) + self.d_in + 4 * L) * self.dtype.itemsize,
                   f"the importance-weighted bound at k = {k} samples for {n} examples")
        if eps is None:
            if rng is None:
                raise InputError("log_weights needs rng (a numpy Generator) or eps")
            eps = rng.standard_normal((k, n, L), dtype=self.dtype)
        elif np.shape(eps) != (k, n, L):
            raise InputError(f"eps must have shape (k, N, L) = {(k, n, L)}; got {np.shape(eps)}")
        else:                           # as loss: cast to the model's dtype, finite only
            eps = check_batch(np.reshape(eps, (rows, L)), L, name="eps", dtype=self.dtype).reshape(k, n, L)
        mu, log_var = self._encode(x)                                       # (N, L) each
        z = self.sampler.forward(np.broadcast_to(mu, eps.shape),            # z_s = mu + sigma eps_s
                                 np.broadcast_to(log_var, eps.shape), eps=eps)   # (k, N, L)
        out = self.decoder.forward(z.reshape(rows, L))                      # one pass: (kN, width)
        x_rows = np.broadcast_to(x, (k, n, x.shape[1])).reshape(rows, -1)   # row (s, n) -> x_n
        log_px_z = -nll_per_example(out, x_rows, self.likelihood, self.sigma).reshape(k, n)
        log_pz = -0.5 * np.sum(z * z + LOG_2PI, axis=-1)                    # log N(z; 0, I)  (k, N)
        log_qz = -0.5 * np.sum(eps * eps + log_var + LOG_2PI, axis=-1)      # log N(z; mu, sigma^2)
        self._iw = dict(log_var=log_var, eps=eps, z=z, out=out, x_rows=x_rows)
        return log_px_z, log_pz - log_qz

    def backward_log_weights(self, c, beta, need_dx=False):
        r"""Fill self.grads with the gradient of  sum_{s,n} c_sn (-log w_sn),  c held fixed, for
        the last call to log_weights, with log w = log p(x|z) + beta [ log p(z) - log q(z|x) ].

        c : ndarray of shape (k, N) (for the bound -L_k: the normalized weights over N; iwae.py
            derives why, and steps 2 and 3 of this gradient)
        Returns dx (N, D), the gradient with respect to x, if need_dx: through the encoder,
        plus the direct term from x being the decoder's target in all k rows.
        """
        if getattr(self, "_iw", None) is None:
            raise InputError("backward_log_weights() needs log weights: call log_weights(x, k, rng=...) first.")
        iw, (k, n), L = self._iw, c.shape, self.latent_dim
        eps, z = iw["eps"], iw["z"]
        sigma = sigma_from_log_var(iw["log_var"])                           # (N, L)
        # -log p(x|z) per row: nll() gives the gradient of the mean over the kN rows, i.e.
        # each row's own gradient / (kN); row (s, n) weighs c_sn, so rescale by kN c_sn.
        _, dout = nll(iw["out"], iw["x_rows"], self.likelihood, self.sigma)  # (kN, width)
        row_weight = (k * n * c).reshape(k * n, 1)
        dz = self.decoder.backward(dout * row_weight).reshape(k, n, L)      # c d(-log p(x|z))/dz
        dz += c[..., None] * beta * z                                       # -log p(z):  c beta z
        dz -= c[..., None] * beta * eps / sigma                             # +log q, path via z
        dmu, dlog_var = self.sampler.backward(dz)                           # (k, N, L) each
        dmu = dmu.sum(axis=0) + np.sum(c[..., None] * beta * eps, axis=0) / sigma   # log q direct
        dlog_var = dlog_var.sum(axis=0) + np.sum(c[..., None] * beta * (eps * eps - 1) / 2, axis=0)
        dx = self.encoder.backward(np.concatenate([dmu, dlog_var], axis=1), need_dx=need_dx)
        if need_dx:
            dtarget = nll_target_gradient(iw["out"], iw["x_rows"], self.likelihood, self.sigma)
            dx += np.sum((dtarget * row_weight).reshape(k, n, -1), axis=0)  # x_n is in k rows
        return dx

    # -- using a trained model ----------------------------------------------------------------
    def reconstruct(self, x):
        """x (N, D) -> E[x | z = mu(x)] (N, D): the decoder's mean at the posterior mean."""
        mu, _ = self.encode(x)
        return mean_image(self.decode(mu), self.likelihood, self.d_in)

    def generate(self, z):
        """z (N, L) -> E[x|z] (N, D), pictures (probabilities or means)."""
        z = check_batch(z, self.latent_dim, name="z", dtype=self.dtype)
        return mean_image(self.decode(z), self.likelihood, self.d_in)

    def sample(self, n, rng, batch_size=1024):
        """n samples from the model: z ~ p(z) = N(0, I), then E[x|z]. Returns (n, D).

        Decoded batch_size codes at a time; n pictures that would not fit in memory are an
        InputError."""
        n = check_positive_int(n, "n")
        check_fits(n * self.d_in * self.dtype.itemsize, f"{n:,} samples of {self.d_in} pixels")
        x = np.empty((n, self.d_in), self.dtype)
        for start in range(0, n, batch_size):
            m = min(batch_size, n - start)
            x[start:start + m] = self.generate(rng.standard_normal((m, self.latent_dim)))
        return x
