"""Encoder and decoder networks for both architectures, built from minivae's layers.

Both kinds take and return flat batches, so the models never see the difference:
- "mlp":  Dense layers with activations between them (minivae.layers.mlp).
- "conv": convolutions and max-pooling down, up-sampling and convolutions up
          (minivae.conv); they reshape (N, D) <-> (N, C, H, W) inside.
"""
import numpy as np

from .layers import mlp

ARCHS = ("mlp", "conv")


def build_encoder(arch, d_in, out_dim, rng, hidden=(400,), channels=(32, 64), image_shape=None,
                  activation="relu", dtype=np.float32):
    """A network (N, d_in) -> (N, out_dim)."""
    if arch == "mlp":
        return mlp([d_in, *hidden, out_dim], rng, activation, dtype)
    if arch == "conv":
        from .conv import conv_encoder
        _check_image_shape(image_shape, d_in)
        return conv_encoder(image_shape, channels, out_dim, rng, activation, dtype)
    raise ValueError(f"arch must be one of {ARCHS}; got {arch!r}")


def build_decoder(arch, latent_dim, d_in, outputs_per_pixel, rng, hidden=(400,), channels=(32, 64),
                  image_shape=None, activation="relu", dtype=np.float32):
    """A network (N, latent_dim) -> (N, outputs_per_pixel * d_in).

    outputs_per_pixel is 1 (logits or means) or 2 (means, then log-variances, each (N, d_in)).
    The hidden sizes (or channels) mirror the encoder's.
    """
    if arch == "mlp":
        return mlp([latent_dim, *hidden[::-1], outputs_per_pixel * d_in], rng, activation, dtype)
    if arch == "conv":
        from .conv import conv_decoder
        _check_image_shape(image_shape, d_in)
        c, h, w = image_shape
        return conv_decoder(latent_dim, (outputs_per_pixel * c, h, w), channels[::-1], rng,
                            activation, dtype)
    raise ValueError(f"arch must be one of {ARCHS}; got {arch!r}")


def joint_params(encoder, decoder):
    """The flat params and grads dicts of a model built from an encoder and a decoder.

    Keys are "encoder.<i>.<name>" and "decoder.<i>.<name>"; the arrays are the layers' own
    (shared memory), so an optimizer stepping params steps the networks.
    """
    parts = (("encoder", encoder), ("decoder", decoder))
    params = {f"{part}.{k}": v for part, net in parts for k, v in net.params.items()}
    grads = {f"{part}.{k}": v for part, net in parts for k, v in net.grads.items()}
    return params, grads


def _check_image_shape(image_shape, d_in):
    if image_shape is None or len(image_shape) != 3 or int(np.prod(image_shape)) != d_in:
        raise ValueError(f"arch='conv' needs image_shape=(C, H, W) with C*H*W == d_in == {d_in}; "
                         f"got {image_shape!r}")
