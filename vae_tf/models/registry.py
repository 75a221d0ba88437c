"""The registry of model variants: what `--model=NAME` (`TrainConfig(model=...)`) builds.

Each `Variant` carries everything the rest of the library needs to know of a
model, in one place beside its class: its settings (help, default and bounds
once, each becoming a `TrainConfig` field and a train.py flag, and a row of
docs/flags.md), the settings of others it also takes, its network builder and
its combination rules. `vae_tf.runs.build_model` and
`TrainConfig.validate` ask the entry; they never grow a case per model. A
setting that some variant takes but the chosen one does not must keep its
default (`check_settings`).

Every module of `vae_tf.models` is imported with the package, so a variant's
module registers it, and the variant is its module and its test.

Example:

```python
register_variant(Variant(
    name="my_vae",
    description="a VAE with my penalty",
    model_class=MyVAE,
    build=lambda config, image_shape, common: MyVAE(
        *build_encoder_decoder(config.architecture, config.latent_dim, image_shape,
                               common["num_classes"]),
        penalty=config.penalty, **common),
    settings={"penalty": setting(0.1, "Weight of my penalty.", Number(low=0.0))},
))
get_variant("my_vae").model_class          # MyVAE
```
"""

import dataclasses
from typing import Callable
from typing import Optional

from vae_tf.models.architectures import check_architecture


def setting(default, help, check=None, type=None):
    """A `TrainConfig` field with its help text and check (`vae_tf.utils.checks`).

    `TrainConfig.validate` runs the checks, and the flags, the docstring and
    docs/flags.md take the help texts. `type`: the field's type where the
    default's is not it (`Optional[float]` for a default of None); a
    variant's settings need it, `TrainConfig`'s own are annotated.
    """
    metadata = {"help": help, "check": check, "type": type}
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One entry of the registry.

    Args:
        name: The value of `--model`.
        description: One line: what it is (with its reference).
        model_class: The `LatentVariableModel` subclass it builds.
        build: `build(config, image_shape, common) -> model`: the networks and
            the model of a validated `TrainConfig`. `common` holds the
            settings every variant takes: `likelihood`, `sigma`, `seed` and
            `num_classes` (None unless conditional).
        settings: Its own settings, `{name: setting(default, help, check)}`:
            new `TrainConfig` fields.
        takes: The names of other settings it takes (declared by another
            variant or by `TrainConfig`), such as the KL schedules.
        check: `check(config)`: raises ValueError naming a combination of
            settings it cannot train, and the fix.
        refusal: How its refusal of another variant's settings begins, e.g.
            "the autoencoder has no KL term"; by default "--model=NAME does
            not take them".
        check_image_shape: `check_image_shape(config, image_shape)`: raises
            ValueError naming an image shape its networks cannot take, and
            the fix, before training starts; by default the architecture
            preset's check (`vae_tf.models.architectures.check_architecture`).
    """

    name: str
    description: str
    model_class: type
    build: Callable
    settings: dict = dataclasses.field(default_factory=dict)
    takes: tuple = ()
    check: Optional[Callable] = None
    refusal: Optional[str] = None
    check_image_shape: Optional[Callable] = None

    def check_images(self, config, image_shape):
        """Refuses, before training, an image shape the variant's networks cannot take.

        Its own `check_image_shape`, else the architecture preset's.
        """
        if self.check_image_shape is not None:
            self.check_image_shape(config, image_shape)
            return
        check_architecture(config.architecture, config.latent_dim, image_shape)

    def setting_names(self):
        """Every variant-specific setting it takes: its own, then those it shares."""
        return (*self.settings, *self.takes)


_VARIANTS = {}


def register_variant(variant):
    """Adds `variant` to the registry (once per name); returns it."""
    if not isinstance(variant, Variant):
        raise TypeError(f"register_variant takes a Variant; got {type(variant).__name__}.")
    if variant.name in _VARIANTS and _VARIANTS[variant.name] != variant:
        raise ValueError(f"A model variant called {variant.name!r} is registered already.")
    for name, field in variant.settings.items():
        other = variant_settings().get(name)
        if other is not None and other is not field:
            raise ValueError(
                f"{variant.name}: the setting {name!r} is declared by another variant already; "
                "list it in takes=(...) instead."
            )
    _VARIANTS[variant.name] = variant
    return variant


def variant_names():
    """The registered names, in the order of registration (`vae` first)."""
    return tuple(_VARIANTS)


def get_variant(name):
    """The `Variant` called `name`; a ValueError lists the names otherwise."""
    if name not in _VARIANTS:
        raise ValueError(f"model must be one of {variant_names()}; got {name!r}.")
    return _VARIANTS[name]


def variant_settings():
    """Every variant's own settings, `{name: field}`, in registration order."""
    fields = {}
    for variant in _VARIANTS.values():
        fields.update(variant.settings)
    return fields


def specific_settings():
    """The names of the settings some variant takes (all others are every variant's)."""
    names = {}
    for variant in _VARIANTS.values():
        names.update(dict.fromkeys(variant.setting_names()))
    return tuple(names)


def takers(name):
    """The variants that take the setting `name`."""
    return tuple(v.name for v in _VARIANTS.values() if name in v.setting_names())


def check_settings(config, defaults):
    """Refuses settings of other variants that `config.model`'s variant does not take.

    `defaults` is a `TrainConfig()`: such a setting must keep its default.
    Then the variant's own `check` runs.
    """
    variant = get_variant(config.model)
    taken = set(variant.setting_names())
    foreign = [
        name
        for name in specific_settings()
        if name not in taken and getattr(config, name) != getattr(defaults, name)
    ]
    if foreign:
        others = sorted({taker for name in foreign for taker in takers(name)})
        start = variant.refusal or f"--model={variant.name} does not take them"
        raise ValueError(
            f"{start[0].upper()}{start[1:]}, so {', '.join(foreign)} cannot apply; drop them or "
            f"train a model that takes them (model={' or '.join(others)})."
        )
    if variant.check is not None:
        variant.check(config)
