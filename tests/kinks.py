"""How far a model's inputs sit from the points where it is not differentiable.

Central differences with step h are wrong when a ReLU input or the two largest values of a
max-pool window are within about h of each other: the difference quotient then straddles a
kink. Whole-model gradient checks skip (hypothesis ``assume``) the rare draws that land there.
"""
import numpy as np

from minivae import LeakyReLU, MaxPool2D, ReLU
from minivae.conv import unfold


def _margin(layer, h):
    if isinstance(layer, (ReLU, LeakyReLU)):
        return float(np.abs(h).min())
    if isinstance(layer, MaxPool2D):
        k, s = layer.size, layer.stride
        n, c, height, width = h.shape
        h_out, w_out = (height - k) // s + 1, (width - k) // s + 1
        windows = unfold(h.transpose(1, 0, 2, 3), k, k, s, h_out, w_out).reshape(c, k * k, -1)
        second, first = np.moveaxis(np.sort(windows, axis=1)[:, -2:], 1, 0)
        # Windows whose two largest values are both exact zeros from a ReLU stay tied under a
        # small step (the ReLU margin guards their inputs) and pass no gradient: not kinks.
        live = (first != 0) | (second != 0)
        return float((first - second)[live].min()) if live.any() else np.inf
    return np.inf


def kink_margin(net, x):
    """Smallest distance to a kink over every ReLU and max-pool in the Sequential net, on x."""
    margin = np.inf
    for layer in net.layers:
        margin = min(margin, _margin(layer, x))
        x = layer.forward(x)
    return margin


def model_kink_margin(model, x, eps=None):
    """kink_margin over a VAE's (or Autoencoder's) encoder and decoder, with the noise eps."""
    h = model.encoder.forward(x)
    margin = kink_margin(model.encoder, x)
    if eps is not None:
        L = model.latent_dim
        z = h[:, :L] + np.exp(0.5 * h[:, L:]) * eps
    else:
        z = h
    return min(margin, kink_margin(model.decoder, z))
