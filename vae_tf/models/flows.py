"""Normalizing flows for the posterior: the encoder's Gaussian pushed through invertible steps.

A flow posterior (`vae_tf.models.posteriors.FlowPosterior`) draws
`z0 ~ N(mean, diag(exp(log_var)))` from the encoder, as the VAE does, then
applies K invertible steps `z_k = f_k(z_{k-1}; h)`, each conditioned on the
encoder's context vector `h` (its third output, `build_encoder(...,
context_dim=...)`), and keeps the change of variables:

    log q(z_K|x) = log N(z0; mean, var) - sum_k log |det df_k / dz_{k-1}|

- `PlanarFlow` (Rezende & Mohamed, 2015): `f(z) = z + u tanh(w.z + b)`, the
  parameters `(u, w, b)` of each step a linear function of `h` (amortized, as
  in the paper), with `u` constrained so that `w.u >= -1`: each step is
  invertible.
- `InverseAutoregressiveFlow` (Kingma et al., 2016): `[m, s] = MADE_k(z, h)`,
  `sigma = sigmoid(s)`, `f(z) = sigma * z + (1 - sigma) * m`, each step a
  two-layer MADE (Germain et al., 2015) whose output i sees the inputs
  before i only, with the order of the dimensions reversed from one step to
  the next; its log-determinant is `sum log sigma`.

Flows are Keras layers of the model, saved, checkpointed and exported with it.
Both directions are exact: `forward(z, context)` gives `(f(z), log|det|)` in
one pass; `inverse(y, context)` gives `(z, log|det|)` of the `z` that maps to
`y`, by a bisection per planar step and by `latent_dim` passes per
autoregressive step (the density of arbitrary codes, `FlowPosterior.log_prob`;
training never needs it).

Example:

```python
flow = InverseAutoregressiveFlow(latent_dim=50, context_dim=100, steps=4)
y, log_det = flow.forward(z, h)          # (N, 50), (N,)
z_again, same_log_det = flow.inverse(y, h)
```
"""

import keras
import numpy as np
from keras import ops

from vae_tf.utils.checks import Integer
from vae_tf.utils.checks import OneOf
from vae_tf.utils.checks import check_positive_int

FLOW_STEPS = Integer(minimum=1)
# What `--posterior` names: the plain Gaussian, or a flow of `FLOWS`.
POSTERIORS = ("gaussian", "planar", "iaf")
POSTERIOR = OneOf(POSTERIORS)
# Steps of a flow built by name without --flow_steps.
DEFAULT_FLOW_STEPS = 4
# The bisection of a planar step's inverse halves an interval of width
# 2 |w.u| this many times, in float64: far below float32's resolution.
_BISECTIONS = 60


def default_context_dim(latent_dim):
    """The encoder's context size (and an IAF's hidden units) for codes of `latent_dim`.

    Twice the code, at least 64: the hidden layers of a MADE need at least
    `latent_dim - 1` units to connect every input to the outputs after it.
    """
    return max(64, 2 * check_positive_int("latent_dim", latent_dim))


def has_context(encoder):
    """Whether `encoder`'s third output is a flat context vector named "context".

    As `build_encoder(..., context_dim=...)` gives it; the keras.io example's
    third output, a sample of z, is not one (a context must not be noise).
    """
    outputs = encoder.outputs
    return (
        len(outputs) == 3
        and list(encoder.output_names)[2] == "context"
        and len(outputs[2].shape) == 2
    )


class Flow(keras.layers.Layer):
    """Base class of the flows: K invertible steps on codes `(N, latent_dim)`, given a context.

    Subclasses create their weights in `__init__` and implement `forward`
    and `inverse`. Computed in float32 whatever the dtype policy.

    Args:
        latent_dim: Size of the codes.
        context_dim: Size of the encoder's context vector `h`.
        steps: K, the number of steps.
    """

    #: The name `--posterior` gives it.
    kind = None

    def __init__(self, latent_dim, context_dim, steps=DEFAULT_FLOW_STEPS, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.context_dim = check_positive_int("context_dim", context_dim)
        self.steps = FLOW_STEPS("flow_steps", steps)
        # The weights are made in __init__ (their shapes are known): built, so
        # that the SavedModel export and the saver take the layer as it is.
        self.built = True

    def forward(self, z, context):
        """`(f(z), log|det df/dz|)`: `(N, latent_dim)` and `(N,)`, in nats."""
        raise NotImplementedError

    def inverse(self, y, context):
        """`(z, log|det df/dz| at z)` of the codes `z` with `f(z) = y`."""
        raise NotImplementedError

    def call(self, z, context):
        return self.forward(z, context)

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "context_dim": self.context_dim,
            "steps": self.steps,
        }


@keras.saving.register_keras_serializable(package="vae_tf")
class PlanarFlow(Flow):
    """Planar steps `f(z) = z + u_hat tanh(w.z + b)` (Rezende & Mohamed, 2015).

    The parameters `(u, w, b)` of every step are a linear function of the
    encoder's context `h`, one per image. `u_hat = u + (m(w.u) - w.u) w /
    |w|^2` with `m(a) = -1 + softplus(a)`, so that `w.u_hat > -1` and each
    step is invertible; its log-determinant is `log(1 + (1 - t^2) w.u_hat)`
    with `t = tanh(w.z + b)`, written as `log(t^2 + (1 - t^2) softplus(w.u))`,
    which loses no digits near the bound.

    Example:

    >>> flow = PlanarFlow(latent_dim=2, context_dim=8, steps=10)
    >>> y, log_det = flow.forward(keras.ops.zeros((3, 2)), keras.ops.ones((3, 8)))
    """

    kind = "planar"

    def __init__(self, latent_dim, context_dim, steps=DEFAULT_FLOW_STEPS, **kwargs):
        super().__init__(latent_dim, context_dim, steps, **kwargs)
        size = self.steps * (2 * self.latent_dim + 1)
        # Small maps from the context around a fixed start: u = 0 and unit-scale
        # w, so that the untrained steps are mild, invertible bends.
        self.kernel = self.add_weight(
            shape=(self.context_dim, size),
            initializer=keras.initializers.RandomNormal(stddev=0.01),
            name="kernel",
        )
        start = np.zeros((self.steps, 2 * self.latent_dim + 1), "float32")
        start[:, self.latent_dim : 2 * self.latent_dim] = np.random.default_rng(0).normal(
            scale=1.0 / np.sqrt(self.latent_dim), size=(self.steps, self.latent_dim)
        )
        self.bias = self.add_weight(
            shape=(size,), initializer=keras.initializers.Constant(start.ravel()), name="bias"
        )

    def step_parameters(self, context):
        """`[(u_hat, w, b, 1 + w.u_hat)]` of each step, `(N, d)`, `(N, d)`, `(N,)`, `(N,)`."""
        d = self.latent_dim
        params = ops.matmul(ops.cast(context, "float32"), self.kernel) + self.bias
        params = ops.reshape(params, (-1, self.steps, 2 * d + 1))
        steps = []
        for k in range(self.steps):
            u, w, b = params[:, k, :d], params[:, k, d : 2 * d], params[:, k, 2 * d]
            wu = ops.sum(w * u, axis=-1)
            squared = ops.sum(w * w, axis=-1)
            norm = ops.maximum(squared, 1e-12)
            bound = -1.0 + ops.softplus(wu)  # m(w.u) > -1
            u_hat = u + ((bound - wu) / norm)[:, None] * w
            # 1 + w.u_hat, which is softplus(w.u) but where |w| is too small
            # for the constraint to hold exactly: then from u_hat itself.
            slack = ops.where(squared >= 1e-12, ops.softplus(wu), 1.0 + ops.sum(w * u_hat, axis=-1))
            steps.append((u_hat, w, b, slack))
        return steps

    @staticmethod
    def _log_det(t, slack):
        # 1 + (1 - t^2) w.u_hat with w.u_hat = -1 + slack.
        return ops.log(ops.square(t) + (1.0 - ops.square(t)) * slack)

    def forward(self, z, context):
        z = ops.cast(z, "float32")
        log_det = ops.zeros(ops.shape(z)[:1])
        for u_hat, w, b, slack in self.step_parameters(context):
            t = ops.tanh(ops.sum(w * z, axis=-1) + b)
            z = z + u_hat * t[:, None]
            log_det = log_det + self._log_det(t, slack)
        return z, log_det

    def inverse(self, y, context):
        y = ops.cast(y, "float64")
        log_det = ops.zeros(ops.shape(y)[:1], "float64")
        for u_hat, w, b, slack in reversed(self.step_parameters(context)):
            u_hat, w, b, slack = (ops.cast(value, "float64") for value in (u_hat, w, b, slack))
            # w.z = a solves a + c tanh(a + b) = w.y with c = w.u_hat > -1: one
            # increasing function of a, within |c| of w.y.
            target = ops.sum(w * y, axis=-1)
            c = ops.sum(w * u_hat, axis=-1)
            low, high = target - ops.abs(c), target + ops.abs(c)
            for _ in range(_BISECTIONS):
                middle = 0.5 * (low + high)
                above = middle + c * ops.tanh(middle + b) > target
                low, high = ops.where(above, low, middle), ops.where(above, middle, high)
            t = ops.tanh(0.5 * (low + high) + b)
            y = y - u_hat * t[:, None]
            log_det = log_det + self._log_det(t, slack)
        return ops.cast(y, "float32"), ops.cast(log_det, "float32")


def _made_degrees(latent_dim, hidden_units, reverse):
    """The degrees of a MADE's inputs (1..d, or d..1 reversed) and hidden units (1..d-1)."""
    inputs = np.arange(1, latent_dim + 1)
    if reverse:
        inputs = inputs[::-1]
    # With one dimension, its output sees the context only: degree 0.
    hidden = np.arange(hidden_units) % max(1, latent_dim - 1) + min(1, latent_dim - 1)
    return inputs, hidden


@keras.saving.register_keras_serializable(package="vae_tf")
class InverseAutoregressiveFlow(Flow):
    """Inverse autoregressive steps (Kingma et al., 2016), each a MADE conditioned on `h`.

    Step k: `[m, s] = MADE_k(z, h)` with two hidden layers of ELU units that
    also see the context `h`, which also reaches the outputs directly (so
    that the first dimension in the step's order, which sees no z, sees h); `sigma = sigmoid(s)`, `f(z) = sigma * z + (1 -
    sigma) * m` (the paper's numerically stable update), `log|det| = sum
    log sigma`. Output i of a step depends on the inputs before i in that
    step's order only, so the Jacobian is triangular; the order is reversed
    from one step to the next. The biases of `s` start at +1 (sigma about 0.73), so that the
    untrained steps mostly keep z (the paper's advice).

    Args:
        latent_dim, context_dim, steps: As `Flow`.
        hidden_units: Units of each hidden layer of the MADEs; None is
            `default_context_dim(latent_dim)`. At least `latent_dim - 1`.

    Example:

    >>> flow = InverseAutoregressiveFlow(latent_dim=4, context_dim=16, steps=2)
    >>> y, log_det = flow.forward(keras.ops.zeros((3, 4)), keras.ops.ones((3, 16)))
    """

    kind = "iaf"

    def __init__(
        self, latent_dim, context_dim, steps=DEFAULT_FLOW_STEPS, hidden_units=None, **kwargs
    ):
        super().__init__(latent_dim, context_dim, steps, **kwargs)
        d = self.latent_dim
        hidden_units = default_context_dim(d) if hidden_units is None else hidden_units
        self.hidden_units = check_positive_int("hidden_units", hidden_units)
        if self.hidden_units < d - 1:
            raise ValueError(
                f"hidden_units={hidden_units} cannot connect {d} dimensions autoregressively: "
                f"a MADE needs at least latent_dim - 1 = {d - 1} hidden units."
            )
        shapes = {
            "input_kernel": (d, self.hidden_units),
            "context_kernel": (self.context_dim, self.hidden_units),
            "hidden_kernel": (self.hidden_units, self.hidden_units),
            "output_kernel": (self.hidden_units, 2 * d),
            # The context straight to the outputs: the first dimension of each
            # step's order sees no hidden unit, but must see the context.
            "context_output_kernel": (self.context_dim, 2 * d),
        }
        self.step_weights = []
        for k in range(self.steps):
            weights = {
                name: self.add_weight(
                    shape=shape, initializer="glorot_uniform", name=f"step{k}_{name}"
                )
                for name, shape in shapes.items()
            }
            for name, size, start in (
                ("input_bias", self.hidden_units, 0.0),
                ("hidden_bias", self.hidden_units, 0.0),
                ("m_bias", d, 0.0),
                ("s_bias", d, 1.0),
            ):
                weights[name] = self.add_weight(
                    shape=(size,),
                    initializer=keras.initializers.Constant(start),
                    name=f"step{k}_{name}",
                )
            self.step_weights.append(weights)
        self.masks = [self._masks(k) for k in range(self.steps)]

    def _masks(self, step):
        inputs, hidden = _made_degrees(self.latent_dim, self.hidden_units, reverse=step % 2 == 1)
        # A hidden unit sees the inputs up to its degree; output i (of input
        # i's degree) sees the hidden units below its degree: strictly before i.
        input_mask = (hidden[None, :] >= inputs[:, None]).astype("float32")
        hidden_mask = (hidden[None, :] >= hidden[:, None]).astype("float32")
        output_mask = (inputs[None, :] > hidden[:, None]).astype("float32")
        return input_mask, hidden_mask, np.concatenate([output_mask, output_mask], axis=1)

    def shift_and_gate(self, step, z, context):
        """`(m, s)` of step `step` at codes `z`, each `(N, latent_dim)`."""
        # In the codes' dtype: the inverse runs in float64, where dividing by
        # small gates loses no digits.
        weights = {
            name: ops.cast(value, z.dtype) for name, value in self.step_weights[step].items()
        }
        input_mask, hidden_mask, output_mask = (
            ops.cast(mask, z.dtype) for mask in self.masks[step]
        )
        x = ops.elu(
            ops.matmul(z, weights["input_kernel"] * input_mask)
            + ops.matmul(context, weights["context_kernel"])
            + weights["input_bias"]
        )
        x = ops.elu(ops.matmul(x, weights["hidden_kernel"] * hidden_mask) + weights["hidden_bias"])
        out = ops.matmul(x, weights["output_kernel"] * output_mask) + ops.matmul(
            context, weights["context_output_kernel"]
        )
        d = self.latent_dim
        return out[:, :d] + weights["m_bias"], out[:, d:] + weights["s_bias"]

    def forward(self, z, context):
        z, context = ops.cast(z, "float32"), ops.cast(context, "float32")
        log_det = ops.zeros(ops.shape(z)[:1])
        for step in range(self.steps):
            m, s = self.shift_and_gate(step, z, context)
            gate = ops.sigmoid(s)
            z = gate * z + (1.0 - gate) * m
            log_det = log_det + ops.sum(ops.log_sigmoid(s), axis=-1)
        return z, log_det

    def inverse(self, y, context):
        y, context = ops.cast(y, "float64"), ops.cast(context, "float64")
        log_det = ops.zeros(ops.shape(y)[:1], "float64")
        for step in reversed(range(self.steps)):
            # Each pass fixes one more dimension in the step's order: after
            # latent_dim passes, every m and s is that of the true z.
            z = y
            for _ in range(self.latent_dim):
                m, s = self.shift_and_gate(step, z, context)
                gate = ops.sigmoid(s)
                z = (y - (1.0 - gate) * m) / gate
            log_det = log_det + ops.sum(ops.log_sigmoid(s), axis=-1)
            y = z
        return ops.cast(y, "float32"), ops.cast(log_det, "float32")

    def get_config(self):
        return {**super().get_config(), "hidden_units": self.hidden_units}


# The flows `--posterior` builds by name.
FLOWS = {flow.kind: flow for flow in (PlanarFlow, InverseAutoregressiveFlow)}


def make_flow(flow, latent_dim, context_dim, steps=None):
    """The flow of a model: a `Flow` (checked against the sizes), or one built by name.

    Args:
        flow: `"planar"`, `"iaf"` (`FLOWS`), or a `Flow`.
        latent_dim, context_dim: The encoder's code and context sizes.
        steps: K of a flow built by name; None is `DEFAULT_FLOW_STEPS`. Not
            with a `Flow`, which has its own.
    """
    if isinstance(flow, Flow):
        if steps is not None and steps != flow.steps:
            raise ValueError(
                f"flow_steps={steps} but the flow given has {flow.steps} steps: give one of them."
            )
        sizes = (flow.latent_dim, flow.context_dim)
        if sizes != (latent_dim, context_dim):
            raise ValueError(
                f"The flow is built for codes of {flow.latent_dim} and a context of "
                f"{flow.context_dim}, but the encoder gives codes of {latent_dim} and a context "
                f"of {context_dim}: build it with latent_dim={latent_dim}, "
                f"context_dim={context_dim}."
            )
        return flow
    if flow not in FLOWS:
        raise ValueError(
            f"flow must be one of {tuple(FLOWS)} or a vae_tf.models.flows.Flow; got {flow!r}."
        )
    steps = DEFAULT_FLOW_STEPS if steps is None else steps
    return FLOWS[flow](latent_dim, context_dim, steps, name="flow")
