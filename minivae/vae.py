r"""The variational autoencoder (Kingma & Welling 2014): encoder, sampler, decoder, -ELBO.

    encoder      x  ->  (mu, log_var)                q_phi(z|x) = N(mu, diag(exp(log_var)))
    sampler      z = mu + exp(log_var / 2) * eps     eps ~ N(0, I)   (reparameterization)
    decoder      z  ->  logits or Gaussian mean      p_theta(x|z)

    -ELBO(x) = E_q[ -log p(x|z) ] + beta KL( q(z|x) || p(z) )      (blog Eq. 4, beta = 1)
             ~=  -log p(x|z)  at one sample z,  + beta KL in closed form

``loss`` computes it (and remembers what backward needs); ``backward`` fills every
gradient in ``grads`` with one call.
"""
from typing import NamedTuple

import numpy as np

from .checks import check_batch
from .errors import InputError
from .gaussian_head import GaussianHead
from .layers import Sequential
from .networks import build_decoder, build_encoder, joint_params
from .likelihoods import (check_likelihood, check_targets, decoder_width, mean_image, nll,
                          nll_target_gradient)
from .losses import kl_standard_normal
from .sampler import GaussianSampler


class LossParts(NamedTuple):
    """Per-example values averaged over the batch: loss = reconstruction + beta kl.

    In nats for a VAE; for an Autoencoder trained on Eq. 2 the reconstruction is the squared
    error ||x - x_hat||^2 (kl = 0).
    """
    loss: float
    reconstruction: float
    kl: float


class VAE:
    r"""An MLP variational autoencoder.

    d_in : data dimension D (784 for MNIST)
    hidden : hidden layer sizes of the encoder; the decoder mirrors them
    latent_dim : L
    likelihood : "bernoulli", "gaussian" (fixed sigma) or "gaussian-learned"
    The encoder is D -> hidden -> 2L (mu and log_var side by side);
    the decoder is L -> reversed(hidden) -> D (or 2D for "gaussian-learned").
    decoder_mean, sigma_range : a Gaussian decoder's last layer (minivae.gaussian_head):
        decoder_mean "sigmoid" squashes the means into (0, 1) (Kingma & Welling, App. C.2);
        sigma_range (sigma_min, None) floors a learned sigma, (sigma_min, sigma_max) bounds it.
    """

    kind = "vae"

    def __init__(self, d_in=784, hidden=(400,), latent_dim=20, likelihood="bernoulli",
                 sigma=1.0, activation="relu", rng=None, dtype=np.float32, arch="mlp",
                 channels=(32, 64), image_shape=None, decoder_mean="linear", sigma_range=None):
        check_likelihood(likelihood)
        rng = np.random.default_rng(0) if rng is None else rng
        hidden = [int(h) for h in hidden]
        self.d_in, self.latent_dim, self.likelihood, self.sigma = d_in, latent_dim, likelihood, sigma
        self.dtype = np.dtype(dtype)
        self.config = {"kind": self.kind, "d_in": d_in, "hidden": hidden, "latent_dim": latent_dim,
                       "likelihood": likelihood, "sigma": sigma, "activation": activation,
                       "dtype": self.dtype.name, "arch": arch, "channels": [int(c) for c in channels],
                       "image_shape": None if image_shape is None else [int(s) for s in image_shape],
                       "decoder_mean": decoder_mean,
                       "sigma_range": None if sigma_range is None else list(sigma_range)}
        net = dict(hidden=hidden, channels=tuple(channels), image_shape=image_shape,
                   activation=activation, dtype=dtype)
        self.encoder = build_encoder(arch, d_in, 2 * latent_dim, rng, **net)
        self.sampler = GaussianSampler()
        self.decoder = build_decoder(arch, latent_dim, d_in, decoder_width(likelihood, d_in) // d_in,
                                     rng, **net)
        if decoder_mean != "linear" or sigma_range is not None:
            if likelihood == "bernoulli":
                raise InputError("decoder_mean and sigma_range shape a Gaussian decoder's output; "
                                 "a Bernoulli decoder outputs logits")
            head = GaussianHead(d_in, likelihood == "gaussian-learned", decoder_mean, sigma_range)
            self.decoder = Sequential([*self.decoder.layers, head])   # no params: same keys
        self.params, self.grads = joint_params(self.encoder, self.decoder)

    # -- the three parts ----------------------------------------------------------------------
    def encode(self, x):
        """x (N, D) -> mu (N, L), log_var (N, L): the parameters of q(z|x)."""
        h = self.encoder.forward(check_batch(x, self.d_in, dtype=self.dtype))   # (N, 2L)
        return h[:, :self.latent_dim], h[:, self.latent_dim:]

    def decode(self, z):
        """z (N, L) -> decoder output (N, D) logits or means ((N, 2D) for gaussian-learned)."""
        return self.decoder.forward(z)

    # -- training -------------------------------------------------------------------------------
    def loss(self, x, rng=None, eps=None, beta=1.0):
        """The negative ELBO of the batch x (N, D), with one z per example.

        Pass rng (a numpy Generator) to draw eps, or eps (N, L) to fix the noise.
        Returns LossParts(loss, reconstruction, kl), floats in nats per example.
        """
        x = check_batch(x, self.d_in, dtype=self.dtype)
        check_targets(x, self.likelihood)
        h = self.encoder.forward(x)                     # as encode(x), without checking x twice
        mu, log_var = h[:, :self.latent_dim], h[:, self.latent_dim:]            # (N, L) each
        z = self.sampler.forward(mu, log_var, rng=rng, eps=eps)                 # (N, L)
        out = self.decode(z)                                                     # (N, D)
        reconstruction, self._dout = nll(out, x, self.likelihood, self.sigma)   # E_q[-log p(x|z)]
        self._x, self._out = x, out
        kl, dmu_kl, dlog_var_kl = kl_standard_normal(mu, log_var)               # KL(q || p(z))
        self._dmu_kl, self._dlog_var_kl, self._beta = dmu_kl, dlog_var_kl, beta
        return LossParts(reconstruction + beta * kl, reconstruction, kl)

    def backward(self, need_dx=False):
        """Fill self.grads with d(-ELBO)/d(params) for the last call to loss.

        Returns dx (N, D), the gradient with respect to the input, if need_dx: through the
        encoder, plus the direct term from x being the decoder's target too.
        """
        dz = self.decoder.backward(self._dout)                      # (N, L)
        dmu, dlog_var = self.sampler.backward(dz)                   # through z = mu + sigma eps
        dh = np.concatenate([dmu + self._beta * self._dmu_kl,       # plus the KL term's gradient
                             dlog_var + self._beta * self._dlog_var_kl], axis=1)   # (N, 2L)
        dx = self.encoder.backward(dh, need_dx=need_dx)
        if need_dx:
            dx += nll_target_gradient(self._out, self._x, self.likelihood, self.sigma)
        return dx

    # -- using a trained model ----------------------------------------------------------------
    def reconstruct(self, x):
        """x (N, D) -> E[x | z = mu(x)] (N, D): the decoder's mean at the posterior mean."""
        mu, _ = self.encode(x)
        return mean_image(self.decode(mu), self.likelihood, self.d_in)

    def generate(self, z):
        """z (N, L) -> E[x|z] (N, D), pictures (probabilities or means)."""
        return mean_image(self.decode(np.asarray(z, dtype=self.dtype)), self.likelihood, self.d_in)

    def sample(self, n, rng):
        """n samples from the model: z ~ p(z) = N(0, I), then E[x|z]. Returns (n, D)."""
        return self.generate(rng.standard_normal((n, self.latent_dim)))
