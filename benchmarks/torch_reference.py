"""The PyTorch equivalent of the `conv` and `mlp` presets, for `benchmarks.benchmark` only.

Imported only where torch is installed (it is not a dependency of vae_tf).
Same layers, initial scales aside, as `vae_tf.models.architectures`, the same
objective (Bernoulli from logits summed over pixels + KL summed over latent
dimensions, batch mean) and Adam, fed the way a careful PyTorch user would:
the whole set as one tensor, batches gathered by a shuffled index (no
DataLoader and its per-image collation).
"""

import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class _ConvVAE(nn.Module):
    """The keras.io example: 32-64 stride-2 convolutions, dense 16, mirrored decoder."""

    def __init__(self, latent_dim, image_shape):
        super().__init__()
        height, width, channels = image_shape
        self.low = (64, height // 4, width // 4)
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(int(np.prod(self.low)), 16),
            nn.ReLU(),
        )
        self.heads = nn.Linear(16, 2 * latent_dim)
        self.expand = nn.Linear(latent_dim, int(np.prod(self.low)))
        # padding=1 with output_padding=1 doubles the size, as Keras' "same".
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(32, channels, 3, padding=1),
        )

    def forward(self, x):
        z_mean, z_log_var = self.heads(self.encoder(x)).chunk(2, dim=1)
        z = z_mean + torch.exp(0.5 * z_log_var) * torch.randn_like(z_mean)
        hidden = F.relu(self.expand(z)).view(-1, *self.low)
        return self.decoder(hidden), z_mean, z_log_var


class _MlpVAE(nn.Module):
    """784-400-latent, as in the PyTorch examples' VAE."""

    def __init__(self, latent_dim, image_shape):
        super().__init__()
        pixels = int(np.prod(image_shape))
        self.image_shape = image_shape
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(pixels, 400), nn.ReLU())
        self.heads = nn.Linear(400, 2 * latent_dim)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 400), nn.ReLU(), nn.Linear(400, pixels))

    def forward(self, x):
        z_mean, z_log_var = self.heads(self.encoder(x)).chunk(2, dim=1)
        z = z_mean + torch.exp(0.5 * z_log_var) * torch.randn_like(z_mean)
        channels, height, width = x.shape[1:]
        return self.decoder(z).view(-1, channels, height, width), z_mean, z_log_var


MODELS = {"conv": _ConvVAE, "mlp": _MlpVAE}


def make_runner(images, architecture, latent_dim, batch_size, seed=0):
    """A function `run(steps) -> seconds` that trains for `steps` steps and times them.

    Args:
        images: Float32 array `(N, H, W, C)` in [0, 1].
    """
    torch.manual_seed(seed)
    model = MODELS[architecture](latent_dim, images.shape[1:])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    batches_per_pass = len(data) // batch_size

    def step(x):
        logits, z_mean, z_log_var = model(x)
        reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(
            dim=(1, 2, 3)
        )
        kl = 0.5 * (z_log_var.exp() + z_mean**2 - 1 - z_log_var).sum(dim=1)
        loss = (reconstruction + kl).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def run(steps):
        start = time.perf_counter()
        order = torch.randperm(len(data))
        for index in range(steps):
            first = (index % batches_per_pass) * batch_size
            step(data[order[first : first + batch_size]])
        return time.perf_counter() - start

    return run
