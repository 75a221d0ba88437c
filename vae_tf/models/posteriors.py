"""Posteriors `q(z|x)`: what a model's encoder says of a batch of images, as one object.

A model's `posterior(images, condition)` returns a `Posterior`, and every
consumer of codes asks it: the training step draws from it
(`sample_and_log_prob`), `encode`, the SavedModel, the figures and the
explorer show its `mean()`, the importance-weighted evaluation weighs its
draws by `log_prob`, and `Prior.kl(posterior)` gives a closed-form KL where
the pair has one. A new kind of posterior (a flow, a quantized code) is one
class here; the training step does not change.

The kinds:

- `DiagonalGaussian`: `N(mean, diag(exp(log_var)))`, the VAE's.
- `Deterministic`: the code itself, no density (the autoencoder's).
- `Quantized`: the codebook indices of a VQ-VAE, `(h, w)` per image, no density.
- `TwoLayerGaussian`: `q(z1|x) q(z2|z1)`, two diagonal Gaussians; its code
  is the top layer z2, its draws hold both layers.
- `TopDownGaussian`: `q(z2|x) q(z1|x, z2)`, the top layer first (Tomczak &
  Welling's convolutional two-layer VAE); its code is z2.
- `FlowPosterior`: a diagonal Gaussian pushed through a normalizing flow
  (`vae_tf.models.flows`: planar, inverse autoregressive); its density is
  the change of variables, its code the flow's image of the Gaussian's mean.

Draws take their noise from `seed_or_noise`: None (the model's `Sampler`,
a seeded, stateful generator that is saved with the model), an integer or
an int32 `(2,)` tensor (a stateless draw: the same seed gives the same
codes, also inside a compiled function), or the standard normal noise
itself, `(batch, *noise_shape)` or `(batch, K, *noise_shape)`.

Example:

```python
posterior = vae.posterior(images)             # a DiagonalGaussian
z = posterior.sample(seed_or_noise=0)         # (batch, latent_dim), reparameterized
draws, log_q = posterior.sample_and_log_prob(num_samples=5)   # (batch, 5, d), (batch, 5)
posterior.mean()                              # what vae.encode and the explorer show
vae.prior.kl(posterior)                       # closed form (batch, d), or None
```
"""

import tensorflow as tf
from keras import ops

from vae_tf import losses


def reparameterize(mean, log_var, noise):
    """`mean + exp(log_var / 2) * noise`: the reparameterization trick, written once.

    `noise` may have a samples axis after the batch axis, `(batch, K, d)`,
    against `(batch, d)` parameters.
    """
    if len(noise.shape) == len(mean.shape) + 1:
        mean, log_var = mean[:, None], log_var[:, None]
    return mean + ops.exp(0.5 * log_var) * noise


def _is_seed(value):
    if isinstance(value, int):
        return True
    dtype = getattr(value, "dtype", None)
    return dtype is not None and "int" in str(dtype)


def _stateless_key(seed):
    seed = tf.cast(seed, "int32")
    return tf.stack([seed, 0]) if seed.shape.rank == 0 else seed


class Posterior:
    """Base class of the posteriors of a batch: draws, their density, the code shown.

    Subclasses set `noise_shape` and implement `_draw(noise)` (returning
    the draws and their `log q`) and `mean()`; `log_prob` where they have a
    density.

    Args:
        noise_source: What draws noise when no seed or noise is given: a
            `vae_tf.models.layers.Sampler` (its `normal(shape, dtype)`), or None.
    """

    #: Whether the posterior has a density (`log_prob`): False for a plain code.
    has_density = True

    def __init__(self, noise_source=None):
        self.noise_source = noise_source

    @property
    def code_shape(self):
        """The shape of one example's code, `mean().shape[1:]`: `(d,)`, or `(h, w, c)`."""
        return tuple(self.mean().shape[1:])

    @property
    def noise_shape(self):
        """The shape of one draw's standard normal noise, per example."""
        raise NotImplementedError

    def _dtype(self):
        return self.mean().dtype

    def noise(self, seed_or_noise=None, num_samples=None):
        """Standard normal noise for the draws (see the module docstring), in the code's dtype."""
        if seed_or_noise is not None and not _is_seed(seed_or_noise):
            return ops.convert_to_tensor(seed_or_noise, self._dtype())
        batch = ops.shape(self.mean())[0]
        shape = (
            (batch, *self.noise_shape)
            if num_samples is None
            else (batch, num_samples, *self.noise_shape)
        )
        if seed_or_noise is None:
            if self.noise_source is None:
                raise ValueError(
                    "This posterior has no noise source of its own: pass a seed or the noise "
                    "(sample(seed_or_noise=...))."
                )
            return self.noise_source.normal(shape, self._dtype())
        return tf.random.stateless_normal(
            tf.stack(shape), seed=_stateless_key(seed_or_noise), dtype=self._dtype()
        )

    def sample(self, seed_or_noise=None, num_samples=None):
        """Reparameterized draws: `(batch, ...)`, or `(batch, num_samples, ...)`."""
        return self.sample_and_log_prob(seed_or_noise, num_samples)[0]

    def sample_and_log_prob(self, seed_or_noise=None, num_samples=None):
        """`(draws, log q(draws|x))`: the log-density, in nats, `(batch,)` or `(batch, K)`.

        Computed from the noise itself where that is exact (a Gaussian's
        standardized noise; a flow's log-determinants), which is cheaper and
        steadier than `log_prob` of the draws.
        """
        return self._draw(self.noise(seed_or_noise, num_samples))

    def _draw(self, noise):
        raise NotImplementedError

    def log_prob(self, draws):
        """`log q(draws|x)` summed over the code, in nats: `(batch,)` or `(batch, K)`."""
        raise NotImplementedError

    def mean(self):
        """The code of each image that `encode`, the SavedModel and the explorer show."""
        raise NotImplementedError

    def log_variance(self):
        """The log-variance of the code where it is Gaussian (`encode`'s second part), else None."""
        return None

    def code(self, draws):
        """The part of draws that is the model's code (the draws themselves but for two layers)."""
        return draws

    def parameters(self):
        """The named tensors that describe the posterior (the SavedModel's `encode`)."""
        raise NotImplementedError


class DiagonalGaussian(Posterior):
    """`q(z|x) = N(mean, diag(exp(log_var)))`, the VAE's posterior.

    Example:

    >>> posterior = DiagonalGaussian(ops.zeros((4, 2)), ops.zeros((4, 2)))
    >>> tuple(posterior.sample(seed_or_noise=0, num_samples=3).shape)
    (4, 3, 2)
    """

    def __init__(self, mean, log_var, noise_source=None):
        super().__init__(noise_source)
        self.loc = mean
        self.log_var = log_var

    @property
    def noise_shape(self):
        return tuple(self.loc.shape[1:])

    def _dtype(self):
        return self.loc.dtype

    def _draw(self, noise):
        draws = reparameterize(self.loc, self.log_var, noise)
        log_var = self.log_var if len(noise.shape) == len(self.loc.shape) else self.log_var[:, None]
        return draws, losses.diagonal_normal_log_density(noise, log_var, self.code_rank)

    @property
    def code_rank(self):
        """The number of the code's axes: 1 for `(d,)` codes, 3 for `(h, w, c)`."""
        return len(self.loc.shape) - 1

    def log_prob(self, draws):
        log_var = self.log_var
        mean = self.loc
        if len(draws.shape) == len(mean.shape) + 1:
            mean, log_var = mean[:, None], log_var[:, None]
        draws, mean = ops.cast(draws, "float32"), ops.cast(mean, "float32")
        noise = (draws - mean) * ops.exp(-0.5 * ops.cast(log_var, "float32"))
        return losses.diagonal_normal_log_density(noise, log_var, self.code_rank)

    def mean(self):
        return self.loc

    def log_variance(self):
        return self.log_var

    def parameters(self):
        return {"z_mean": self.loc, "z_log_var": self.log_var}


class Deterministic(Posterior):
    """A code without a distribution (the autoencoder's): every draw is the code itself.

    It has no density: `log_prob` raises, and `Prior.kl` gives None.
    """

    has_density = False

    def __init__(self, code, noise_source=None):
        super().__init__(noise_source)
        self._code = code

    @property
    def noise_shape(self):
        return (0,)

    def sample_and_log_prob(self, seed_or_noise=None, num_samples=None):
        """`(the code, None)`: repeated `num_samples` times on axis 1 when given."""
        code = self._code
        if num_samples is not None:
            code = ops.repeat(code[:, None], num_samples, axis=1)
        return code, None

    def log_prob(self, draws):
        raise ValueError(
            "A deterministic code (an Autoencoder's) has no posterior density q(z|x): its "
            "ELBO and log-likelihood are undefined. Evaluate a VAE."
        )

    def mean(self):
        return self._code

    def parameters(self):
        return {"z": self._code}


class Quantized(Deterministic):
    """A VQ-VAE's code: the indices of the nearest codebook vectors, `(batch, h, w)` int32.

    Like `Deterministic`, every draw is the code itself and there is no
    density (`Prior.kl` gives None); the SavedModel's `encode` names it
    `"indices"`.

    Example:

    >>> Quantized(ops.zeros((2, 7, 7), "int32")).code_shape
    (7, 7)
    """

    def log_prob(self, draws):
        raise ValueError(
            "A VQ-VAE's code (codebook indices) has no posterior density q(z|x): its ELBO and "
            "log-likelihood are undefined; evaluate its bits per dimension instead "
            "(vae_tf.metrics.codebook_report)."
        )

    def parameters(self):
        return {"indices": self._code}


class TwoLayers(Posterior):
    """Base of the two-layer posteriors: draws `[z1, z2]` side by side, the code z2.

    Subclasses set `hidden_dim` and `latent_dim` (z1's and z2's sizes) and
    implement `_layers(noise)`, the draws' `(z1, z2, log q)` of noise
    `(batch, K, hidden + latent)`, and `_layers_log_prob(z1, z2)`, the
    joint `log q` of draws `(batch, K, ...)`; single draws are theirs with K = 1.
    """

    @property
    def noise_shape(self):
        return (self.hidden_dim + self.latent_dim,)

    def _draw(self, noise):
        single = len(noise.shape) == 2
        if single:
            noise = noise[:, None]
        z1, z2, log_q = self._layers(noise)
        draws = ops.concatenate([z1, ops.cast(z2, z1.dtype)], axis=-1)
        return (draws[:, 0], log_q[:, 0]) if single else (draws, log_q)

    def split(self, draws):
        """`(z1, z2)` of draws."""
        return draws[..., : self.hidden_dim], draws[..., self.hidden_dim :]

    def log_prob(self, draws):
        z1, z2 = self.split(draws)
        single = len(draws.shape) == 2
        if single:
            z1, z2 = z1[:, None], z2[:, None]
        log_q = self._layers_log_prob(z1, z2)
        return log_q[:, 0] if single else log_q

    def code(self, draws):
        return self.split(draws)[1]


class TwoLayerGaussian(TwoLayers):
    """`q(z1|x) q(z2|z1)`, two diagonal Gaussians (Burda et al., 2015).

    Draws hold both layers, `[z1, z2]` concatenated on the last axis, and
    `log_prob` is the joint `log q(z1|x) + log q(z2|z1)`; the code is z2
    (`code(draws)`), and `mean()` is z2's mean at the mean of z1,
    `E[z2 | E[z1|x]]`.

    Args:
        bottom: `q(z1|x)`, a `DiagonalGaussian`.
        top: A function `z1 -> q(z2|z1)` (a `DiagonalGaussian`).
    """

    def __init__(self, bottom, top, noise_source=None):
        super().__init__(noise_source)
        self.bottom = bottom
        self.top = top
        self._top_at_mean = None

    @property
    def hidden_dim(self):
        return self.bottom.loc.shape[-1]

    def top_at_mean(self):
        """`q(z2 | E[z1|x])`."""
        if self._top_at_mean is None:
            self._top_at_mean = self.top(self.bottom.loc)
        return self._top_at_mean

    @property
    def latent_dim(self):
        return self.top_at_mean().loc.shape[-1]

    def _dtype(self):
        return self.bottom.loc.dtype

    def layer_draws(self, noise):
        """The draws of both layers from the noise `(batch, K, hidden + latent)`.

        Returns:
            `(z1, flat_z1, flat_z2, log q(z1|x), log q(z2|z1))`: z1 `(batch, K,
            hidden)`, and z1 and z2 with the draws on the batch axis,
            `(batch * K, ...)`, as the top networks take them (one flat z1
            for all its uses: its gradients add up in one order); the
            log-densities `(batch, K)`.
        """
        batch, num_samples = ops.shape(noise)[0], ops.shape(noise)[1]
        hidden, latent = self.hidden_dim, self.latent_dim
        noise1, noise2 = noise[..., :hidden], noise[..., hidden:]
        z1, log_q1 = self.bottom._draw(noise1)
        flat_z1 = ops.reshape(z1, (batch * num_samples, hidden))
        flat_z2, flat_log_q2 = self.top(flat_z1)._draw(
            ops.reshape(noise2, (batch * num_samples, latent))
        )
        return z1, flat_z1, flat_z2, log_q1, ops.reshape(flat_log_q2, (batch, num_samples))

    def _layers(self, noise):
        z1, _, flat_z2, log_q1, log_q2 = self.layer_draws(noise)
        z2 = ops.reshape(flat_z2, (ops.shape(z1)[0], ops.shape(z1)[1], self.latent_dim))
        return z1, z2, log_q1 + log_q2

    def _layers_log_prob(self, z1, z2):
        batch, num_samples = ops.shape(z1)[0], ops.shape(z1)[1]
        top = self.top(ops.reshape(z1, (batch * num_samples, self.hidden_dim)))
        log_q2 = ops.reshape(
            top.log_prob(ops.reshape(z2, (batch * num_samples, self.latent_dim))),
            (batch, num_samples),
        )
        return self.bottom.log_prob(z1) + log_q2

    def mean(self):
        return self.top_at_mean().loc

    def hidden_mean(self):
        """The first layer's code: the mean of `q(z1|x)`, `(batch, hidden_dim)`."""
        return self.bottom.mean()

    def log_variance(self):
        return self.top_at_mean().log_var

    def parameters(self):
        return self.top_at_mean().parameters()


class FlowPosterior(Posterior):
    """`q(z_K|x)`: a diagonal Gaussian `q(z0|x)` pushed through a normalizing flow.

    `z0 = mean + exp(log_var / 2) * noise`, then `z_K = flow(z0; context)`, and
    `log q(z_K|x) = log q(z0|x) - log|det dz_K/dz0|`, computed from the noise
    and the flow's own log-determinants. `log_prob` of other codes inverts
    the flow. The code shown (`mean()`: `encode`, the SavedModel, the figures,
    the explorer) is the flow's image of the Gaussian's mean, a point of the
    code space the decoder was trained on; it has no variance
    (`log_variance()` is None), and `parameters()` adds the Gaussian's:
    `{"z", "z0_mean", "z0_log_var"}`. No prior has a closed-form KL against
    it: the models estimate `log q - log p` from their draws.

    Args:
        base: `q(z0|x)`, a `DiagonalGaussian` over flat codes `(batch, d)`.
        flow: A `vae_tf.models.flows.Flow` of size d.
        context: The encoder's context vector, `(batch, flow.context_dim)`.
    """

    def __init__(self, base, flow, context, noise_source=None):
        super().__init__(noise_source)
        self.base = base
        self.flow = flow
        self.context = context
        self._mean = None

    @property
    def noise_shape(self):
        return self.base.noise_shape

    def _dtype(self):
        return self.base.loc.dtype

    def _flat(self, codes, function):
        """`function(flat codes, their contexts)` of `(batch, d)` or `(batch, K, d)` codes."""
        if len(codes.shape) == 2:
            return function(codes, self.context)
        batch, num_samples = ops.shape(codes)[0], ops.shape(codes)[1]
        flat = ops.reshape(codes, (batch * num_samples, codes.shape[-1]))
        out, log_det = function(flat, ops.repeat(self.context, num_samples, axis=0))
        return (
            ops.reshape(out, (batch, num_samples, codes.shape[-1])),
            ops.reshape(log_det, (batch, num_samples)),
        )

    def _draw(self, noise):
        z0, log_q0 = self.base._draw(noise)
        z, log_det = self._flat(z0, self.flow.forward)
        return ops.cast(z, z0.dtype), log_q0 - log_det

    def log_prob(self, draws):
        z0, log_det = self._flat(draws, self.flow.inverse)
        return self.base.log_prob(z0) - log_det

    def mean(self):
        if self._mean is None:
            self._mean = ops.cast(self.flow.forward(self.base.loc, self.context)[0], self._dtype())
        return self._mean

    def parameters(self):
        return {"z": self.mean(), "z0_mean": self.base.loc, "z0_log_var": self.base.log_var}


class TopDownGaussian(TwoLayers):
    """`q(z2|x) q(z1|x, z2)`: the top layer from the image, then the bottom one given both.

    The inference order of Tomczak & Welling's (2018) convolutional two-layer
    VAE. Draws hold both layers, `[z1, z2]` on the last axis as in
    `TwoLayerGaussian`; the code is z2, and `mean()` is its posterior mean.

    Args:
        top: `q(z2|x)`, a `DiagonalGaussian`.
        bottom: A function `(z2, repeats) -> q(z1|x, z2)` (a `DiagonalGaussian`)
            of flat draws of z2, `(batch * repeats, latent)`, `repeats` per
            image in a row.
        hidden_dim: The size of z1.
    """

    def __init__(self, top, bottom, hidden_dim, noise_source=None):
        super().__init__(noise_source)
        self.top = top
        self.bottom = bottom
        self.hidden_dim = hidden_dim

    @property
    def latent_dim(self):
        return self.top.loc.shape[-1]

    def _dtype(self):
        return self.top.loc.dtype

    def layer_draws(self, noise):
        """`(z1, z2, log q(z1|x, z2), log q(z2|x))` of the noise `(batch, K, hidden + latent)`.

        z1 `(batch, K, hidden)`, z2 `(batch, K, latent)`, the densities `(batch, K)`.
        """
        batch, num_samples = ops.shape(noise)[0], ops.shape(noise)[1]
        z2, log_q2 = self.top._draw(noise[..., self.hidden_dim :])
        flat_z2 = ops.reshape(z2, (batch * num_samples, self.latent_dim))
        flat_noise = ops.reshape(noise[..., : self.hidden_dim], (-1, self.hidden_dim))
        flat_z1, flat_log_q1 = self.bottom(flat_z2, num_samples)._draw(flat_noise)
        z1 = ops.reshape(ops.cast(flat_z1, z2.dtype), (batch, num_samples, self.hidden_dim))
        return z1, z2, ops.reshape(flat_log_q1, (batch, num_samples)), log_q2

    def _layers(self, noise):
        z1, z2, log_q1, log_q2 = self.layer_draws(noise)
        return z1, z2, log_q1 + log_q2

    def _layers_log_prob(self, z1, z2):
        batch, num_samples = ops.shape(z1)[0], ops.shape(z1)[1]
        flat_z2 = ops.reshape(z2, (batch * num_samples, self.latent_dim))
        log_q1 = self.bottom(flat_z2, num_samples).log_prob(
            ops.reshape(z1, (batch * num_samples, self.hidden_dim))
        )
        return ops.reshape(log_q1, (batch, num_samples)) + self.top.log_prob(z2)

    def mean(self):
        return self.top.loc

    def hidden_mean(self):
        """The first layer's code: the mean of `q(z1|x, z2)` at z2's mean, `(batch, hidden_dim)`."""
        return self.bottom(self.top.loc, 1).mean()

    def log_variance(self):
        return self.top.log_var

    def parameters(self):
        return self.top.parameters()
