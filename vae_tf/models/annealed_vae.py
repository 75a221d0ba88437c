"""The annealed VAE (Burgess et al., 2018): the KL held at a capacity C that grows during training.

"Understanding disentangling in beta-VAE" (arXiv:1804.03599, Eq. 8)
replaces the ELBO's KL by a penalty on its distance from a target
capacity `C` in nats, raised linearly from 0 to `capacity_max` over
`capacity_steps` training steps:

    objective = reconstruction + gamma * |KL - C|,
    C = capacity_max * min(1, step / capacity_steps)

where reconstruction and KL are the batch's means. As in disentanglement_lib
(`methods/unsupervised/vae.py`: `AnnealedVAE`, `anneal`), the absolute value
is taken of the batch-mean KL, not per example, and the step is the global
training step before this step's update (0 at the first step). Its study
fixes `gamma = 1000` and `iteration_threshold = 100000` and sweeps `c_max`
over 5, 10, 25, 50, 75, 100 nats.

Example:

```python
model = AnnealedVAE(*vae_tf.build_encoder_decoder("conv", 10), capacity_max=25.0,
                    capacity_steps=100_000)
model.compile(optimizer="adam")
model.fit(x_train, epochs=30, batch_size=64)   # logs capacity_loss, |KL - C|, and kl_target, C
```
"""

from typing import Optional

import keras
from keras import ops

from vae_tf.models.architectures import build_encoder_decoder
from vae_tf.models.objective import LossTerm
from vae_tf.models.objective import gather_batch
from vae_tf.models.registry import Variant
from vae_tf.models.registry import register_variant
from vae_tf.models.registry import setting
from vae_tf.models.vae import VAE
from vae_tf.utils.checks import Integer
from vae_tf.utils.checks import Number

# Burgess et al.'s gamma, fixed in disentanglement_lib's study.
ANNEALED_GAMMA = 1000.0
# In disentanglement_lib's sweep of c_max (5-100 nats), and Burgess et al.'s
# dSprites setting; its study reaches it after 100,000 steps.
CAPACITY_MAX = 25.0
CAPACITY_STEPS = 100_000
CAPACITY = Number(low=0.0)
STEPS = Integer(minimum=1)
# Shared with factor_vae, which takes it: one flag, each model's default.
GAMMA = Number(low=0.0, optional=True, note="None: the model's default")


def capacity_at(step, capacity_max, capacity_steps):
    """`C = capacity_max * min(1, step / capacity_steps)` in nats, float32 (disentanglement_lib's `anneal`).

    Example:

    ```python
    capacity_at(50, 25.0, 100)    # 12.5
    capacity_at(500, 25.0, 100)   # 25.0: held at capacity_max once reached
    ```
    """
    fraction = ops.cast(step, "float32") / float(capacity_steps)
    return capacity_max * ops.minimum(fraction, 1.0)


@keras.saving.register_keras_serializable(package="vae_tf")
class AnnealedVAE(VAE):
    """The annealed VAE of Burgess et al. (2018): `reconstruction + gamma * |KL - C|`.

    `C` (module docstring) is computed from the optimizer's step counter,
    `optimizer.iterations`, inside the compiled step: it is saved with the
    optimizer's state (checkpoints, `vae.keras`), so a resumed run goes on
    from the middle of the schedule, and it never retraces. A model that
    has no optimizer yet (not compiled) reads `C = capacity_max`, the
    capacity it is trained towards; a freshly compiled optimizer starts the
    schedule again at 0. Under a float16 `LossScaleOptimizer`, steps skipped
    for an overflow do not count.

    `|KL - C|` is of the batch's mean KL, a statistic of the batch: every
    replica of a `tf.distribute` strategy gathers the global batch's KL
    (`gather_batch`), and the term hands the step the same value for each
    of its examples, so that the global batch's objective is exactly
    `mean reconstruction + gamma * |mean KL - C|`, as on one device.

    Terms: `reconstruction` and `kl` (the negative ELBO, `total_loss`; the
    KL is not optimized on its own) and `capacity`, `|mean KL - C|` in nats,
    optimized with weight `gamma`; the statistic `kl_target` is `C` itself
    (logged as `kl_target`). The history's `loss` is the objective.

    Args:
        encoder, decoder: As for `VAE`.
        capacity_max: The final capacity, in nats (>= 0).
        capacity_steps: Training steps to reach it (>= 1).
        gamma: Weight of `|KL - C|` (>= 0); 1000 (`ANNEALED_GAMMA`) by default.
        **kwargs: The `VAE`'s (likelihood, prior, seed, num_classes, ...);
            the objective is built on the one-sample ELBO's terms, with
            neither beta nor free bits.

    Example:

    ```python
    model = AnnealedVAE(*vae_tf.build_encoder_decoder("mlp", 10), capacity_max=5.0,
                        capacity_steps=1000)
    model.compile(optimizer="adam")
    model.capacity()                 # 0.0 before the first step
    ```
    """

    loss_term_names = ("reconstruction", "kl", "capacity")
    statistic_names = ("kl_target",)

    def __init__(
        self,
        encoder,
        decoder,
        capacity_max=CAPACITY_MAX,
        capacity_steps=CAPACITY_STEPS,
        gamma=ANNEALED_GAMMA,
        **kwargs,
    ):
        self.capacity_max = CAPACITY("capacity_max", capacity_max)
        self.capacity_steps = STEPS("capacity_steps", capacity_steps)
        self.gamma = Number(low=0.0)("gamma", gamma)
        super().__init__(encoder, decoder, **kwargs)
        unused = {
            "objective": (self.objective, "elbo"),
            "num_samples": (self.num_samples, 1),
            "beta": (self.beta, 1.0),
            "free_bits": (self.free_bits, 0.0),
        }
        changed = [
            f"{name}={value!r}" for name, (value, default) in unused.items() if value != default
        ]
        if changed:
            raise ValueError(
                "AnnealedVAE's KL enters its objective only as gamma * |KL - C| of the one-sample "
                f"ELBO's terms; got {', '.join(changed)}. Leave them at their defaults, and set "
                "gamma, capacity_max and capacity_steps instead."
            )

    def capacity(self):
        """`C` now, in nats: `capacity_at(optimizer.iterations, ...)`; `capacity_max` uncompiled."""
        optimizer = getattr(self, "optimizer", None)
        if optimizer is None:
            return ops.convert_to_tensor(self.capacity_max, "float32")
        return capacity_at(optimizer.iterations, self.capacity_max, self.capacity_steps)

    def loss_terms(self, images, condition=None, training=False):
        """The ELBO's terms of one draw, `|mean KL - C|` (weight gamma) and `C`, per example."""
        posterior = self.posterior(images, condition, training=training)
        terms = self.one_draw_terms(images, posterior, condition, training)
        kl = ops.cast(terms["kl"].per_example(), "float32")
        everyone, _ = gather_batch(kl)
        capacity = self.capacity()
        ones = ops.ones_like(kl)
        return {
            "reconstruction": terms["reconstruction"],
            "kl": LossTerm(terms["kl"].value, optimized=False),
            "capacity": LossTerm(
                ops.abs(ops.mean(everyone) - capacity) * ones, weight=self.gamma, in_total=False
            ),
            "kl_target": LossTerm(capacity * ones, optimized=False, in_total=False),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "capacity_max": self.capacity_max,
            "capacity_steps": self.capacity_steps,
            "gamma": self.gamma,
        }


def _build(config, image_shape, common):
    networks = build_encoder_decoder(
        config.architecture, config.latent_dim, image_shape, common["num_classes"]
    )
    return AnnealedVAE(
        *networks,
        capacity_max=config.capacity_max,
        capacity_steps=config.capacity_steps,
        gamma=ANNEALED_GAMMA if config.gamma is None else config.gamma,
        z_log_var_clip=config.z_log_var_clip,
        **common,
    )


register_variant(
    Variant(
        name="annealed_vae",
        description="the annealed VAE (Burgess et al., 2018): reconstruction + gamma * |KL - C|, "
        "the capacity C raised linearly during training",
        model_class=AnnealedVAE,
        build=_build,
        settings={
            "capacity_max": setting(
                CAPACITY_MAX,
                "annealed_vae: the final capacity C in nats, the KL's target, raised linearly "
                "from 0 (disentanglement_lib's study sweeps 5, 10, 25, 50, 75, 100).",
                CAPACITY,
            ),
            "capacity_steps": setting(
                CAPACITY_STEPS,
                "annealed_vae: training steps over which C grows to capacity_max "
                "(disentanglement_lib: 100000); a resumed run continues from its step.",
                STEPS,
            ),
            "gamma": setting(
                None,
                "Weight of the model's penalty: of |KL - C| for annealed_vae (default 1000, as "
                "Burgess et al., 2018, and disentanglement_lib), of the discriminator's "
                "total-correlation estimate for factor_vae (default 10, disentanglement_lib's "
                "smallest).",
                GAMMA,
                type=Optional[float],
            ),
        },
        takes=("z_log_var_clip",),
        refusal="the annealed VAE's KL enters its objective only as gamma * |KL - C| under its "
        "own capacity schedule: beta, free bits, the KL schedules, the IWAE bound, mixture priors "
        "and two stochastic layers do not apply",
    )
)
