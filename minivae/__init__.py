"""minivae: autoencoders and variational autoencoders from scratch in NumPy."""
from .activations import LeakyReLU, ReLU, Sigmoid, Tanh
from .autoencoder import Autoencoder
from .conv import Conv2D, Flatten, MaxPool2D, Reshape, Upsample2D
from .evaluate import latent_diagnostics, log_likelihood, negative_elbo
from .gradcheck import numerical_gradient
from .iwae import ImportanceWeighted
from .layers import Dense, Sequential, glorot, he, mlp
from .losses import (LossParts, bernoulli_nll, gaussian_nll, gaussian_nll_fixed,
                     kl_per_dimension, kl_standard_normal, mse)
from .optim import SGD, Adam
from .sampler import GaussianSampler, sigma_from_log_var
from .vae import VAE
from .hierarchical import HierarchicalVAE
from .models import build_model
from .app.checkpoint import load as load_checkpoint

__version__ = "0.1.0"
