r"""The plain (deterministic) autoencoder: x -> z -> x_hat, trained on ||x - x_hat||^2 (Eq. 2).

    encoder   x (N, D) -> z (N, L)          a bottleneck, one code per input
    decoder   z (N, L) -> x_hat (N, D)

Nothing makes the codes of different inputs fill a known region, so decoding a random
code gives garbage: an autoencoder compresses, it does not generate. The VAE fixes that
with the KL term.
"""
import numpy as np

from .checks import check_batch
from .errors import InputError
from .likelihoods import AE_LIKELIHOODS, check_likelihood, check_targets, mean_image, nll, nll_target_gradient
from .losses import LossParts
from .networks import build_networks, joint_params, network_config


class Autoencoder:
    r"""An autoencoder with MLP (arch="mlp") or convolutional (arch="conv") networks.

    likelihood : "mse" trains on the quadratic loss ||x - x_hat||^2 (Eq. 2);
                 "bernoulli" treats the decoder output as logits and trains on cross-entropy.
    The other arguments are the VAE's (same meaning, same rule for rng=None); the encoder
    outputs the code z (N, L) directly.
    """

    kind = "ae"

    def __init__(self, d_in=784, hidden=(400,), latent_dim=20, likelihood="mse",
                 activation="relu", rng=None, dtype=np.float32, arch="mlp", channels=(32, 64),
                 image_shape=None):
        check_likelihood(likelihood, AE_LIKELIHOODS)
        self.config = {"kind": self.kind, "likelihood": likelihood,
                       **network_config(d_in, hidden, latent_dim, activation, dtype, arch,
                                        channels, image_shape)}
        self.d_in, self.latent_dim = self.config["d_in"], self.config["latent_dim"]
        self.likelihood, self.sigma, self.dtype = likelihood, None, np.dtype(dtype)
        rng = np.random.default_rng(0) if rng is None else rng
        self.encoder, self.decoder = build_networks(self.config, self.latent_dim, 1, rng)
        self.params, self.grads = joint_params(self.encoder, self.decoder)
        self._last = None                     # what backward needs from the last loss

    def encode(self, x):
        """x (N, D) -> z (N, L), the code."""
        return self.encoder.forward(check_batch(x, self.d_in, dtype=self.dtype))

    def embed(self, x):
        """x (N, D) -> z (N, L): where each example sits in latent space (for plots)."""
        return self.encode(x)

    def decode(self, z):
        """z (N, L) -> decoder output (N, D): x_hat itself, or logits for "bernoulli"."""
        return self.decoder.forward(z)

    def loss(self, x, rng=None, eps=None, beta=1.0):
        """Reconstruction loss of the batch x (N, D). rng, eps and beta are ignored (no noise,
        no KL): they are accepted so that training code treats both models alike.

        Returns LossParts(loss, reconstruction, kl=0.0).
        """
        x = check_batch(x, self.d_in, dtype=self.dtype)
        check_targets(x, self.likelihood)
        out = self.decode(self.encoder.forward(x))        # as decode(encode(x)), x checked once
        value, dout = nll(out, x, self.likelihood)         # ||x - x_hat||^2 (Eq. 2) or Bernoulli
        self._last = dict(x=x, out=out, dout=dout)
        return LossParts(value, value, 0.0)

    def backward(self, need_dx=False):
        """Fill self.grads for the last call to loss; returns dx (N, D) if need_dx: through
        the encoder, plus the direct term from x being the decoder's target too."""
        if self._last is None:
            raise InputError("backward() needs a loss to differentiate: call loss(x) first.")
        c = self._last
        dz = self.decoder.backward(c["dout"])
        dx = self.encoder.backward(dz, need_dx=need_dx)
        if need_dx:
            dx += nll_target_gradient(c["out"], c["x"], self.likelihood)
        return dx

    def reconstruct(self, x):
        """x (N, D) -> x_hat (N, D) as a picture."""
        return self.generate(self.encode(x))

    def generate(self, z):
        """z (N, L) -> the decoded picture (N, D)."""
        z = check_batch(z, self.latent_dim, name="z", dtype=self.dtype)
        return mean_image(self.decode(z), self.likelihood, self.d_in)
