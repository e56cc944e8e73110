r"""The plain (deterministic) autoencoder: x -> z -> x_hat, trained on ||x - x_hat||^2 (Eq. 2).

    encoder   x (N, D) -> z (N, L)          a bottleneck, one code per input
    decoder   z (N, L) -> x_hat (N, D)

Nothing makes the codes of different inputs fill a known region, so decoding a random
code gives garbage: an autoencoder compresses, it does not generate. The VAE fixes that
with the KL term.
"""
import numpy as np

from .checks import check_batch
from .networks import build_decoder, build_encoder, joint_params
from .likelihoods import check_targets, mean_image, nll_target_gradient
from .losses import bernoulli_nll, mse
from .vae import LossParts


class Autoencoder:
    r"""An MLP autoencoder.

    likelihood : "gaussian" trains on the quadratic loss ||x - x_hat||^2 (Eq. 2);
                 "bernoulli" treats the decoder output as logits and trains on cross-entropy.
    """

    kind = "ae"

    def __init__(self, d_in=784, hidden=(400,), latent_dim=20, likelihood="gaussian",
                 activation="relu", rng=None, dtype=np.float32, arch="mlp", channels=(32, 64),
                 image_shape=None):
        if likelihood not in ("gaussian", "bernoulli"):
            raise ValueError(f"an Autoencoder's likelihood must be 'gaussian' (MSE, Eq. 2) or "
                             f"'bernoulli'; got {likelihood!r}")
        rng = np.random.default_rng(0) if rng is None else rng
        hidden = [int(h) for h in hidden]
        self.d_in, self.latent_dim, self.likelihood = d_in, latent_dim, likelihood
        self.dtype = np.dtype(dtype)
        self.config = {"kind": self.kind, "d_in": d_in, "hidden": hidden, "latent_dim": latent_dim,
                       "likelihood": likelihood, "activation": activation, "dtype": self.dtype.name,
                       "arch": arch, "channels": [int(c) for c in channels],
                       "image_shape": None if image_shape is None else [int(s) for s in image_shape]}
        net = dict(hidden=hidden, channels=tuple(channels), image_shape=image_shape,
                   activation=activation, dtype=dtype)
        self.encoder = build_encoder(arch, d_in, latent_dim, rng, **net)
        self.decoder = build_decoder(arch, latent_dim, d_in, 1, rng, **net)
        self.params, self.grads = joint_params(self.encoder, self.decoder)

    def encode(self, x):
        """x (N, D) -> z (N, L), the code."""
        return self.encoder.forward(check_batch(x, self.d_in, dtype=self.dtype))

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
        out = self.decode(self.encoder.forward(x))      # as decode(encode(x)), x checked once
        self._x, self._out = x, out
        if self.likelihood == "gaussian":
            value, self._dout = mse(out, x)             # ||x - x_hat||^2      (Eq. 2)
        else:
            value, self._dout = bernoulli_nll(out, x)
        return LossParts(value, value, 0.0)

    def backward(self, need_dx=False):
        """Fill self.grads for the last call to loss; returns dx (N, D) if need_dx (through the
        encoder, plus the direct term from x being the target: d/dx ||x - x_hat||^2 = 2 (x - x_hat) / N).
        """
        dz = self.decoder.backward(self._dout)
        dx = self.encoder.backward(dz, need_dx=need_dx)
        if need_dx:
            dx += (-self._dout if self.likelihood == "gaussian"
                   else nll_target_gradient(self._out, self._x, "bernoulli"))
        return dx

    def reconstruct(self, x):
        """x (N, D) -> x_hat (N, D) as a picture."""
        return self.generate(self.encode(x))

    def generate(self, z):
        """z (N, L) -> the decoded picture (N, D)."""
        return mean_image(self.decode(np.asarray(z, dtype=self.dtype)), self.likelihood, self.d_in)
