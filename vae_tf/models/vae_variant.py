"""The `vae` entry of the registry: the VAE's settings, its builder and its combination rules.

`--model=vae` (the default): `VAE`, `HierarchicalVAE` (two layers, mlp) and
`TopDownHierarchicalVAE` (two layers, convolutional presets), with any prior,
objective, flow posterior or PixelCNN decoder; what cannot train together
is refused here with the reason, before anything is built.
"""

from typing import Optional

from vae_tf.models.architectures import build_encoder_decoder
from vae_tf.models.architectures import build_hierarchical_networks
from vae_tf.models.architectures import build_top_down_networks
from vae_tf.models.flows import DEFAULT_FLOW_STEPS
from vae_tf.models.flows import POSTERIOR
from vae_tf.models.flows import default_context_dim
from vae_tf.models.hierarchical import HierarchicalVAE
from vae_tf.models.hierarchical import TopDownHierarchicalVAE
from vae_tf.models.pixelcnn import DECODERS
from vae_tf.models.pixelcnn import DEFAULT_PIXELCNN_FILTERS
from vae_tf.models.pixelcnn import DEFAULT_PIXELCNN_LAYERS
from vae_tf.models.pixelcnn import PIXELCNN_FILTERS
from vae_tf.models.pixelcnn import PIXELCNN_LAYERS
from vae_tf.models.pixelcnn import build_pixelcnn
from vae_tf.models.priors import PRIOR
from vae_tf.models.priors import PRIOR_COMPONENTS
from vae_tf.models.registry import Variant
from vae_tf.models.registry import register_variant
from vae_tf.models.registry import setting
from vae_tf.models.vae import BETA
from vae_tf.models.vae import FLOW_STEPS_SETTING
from vae_tf.models.vae import FREE_BITS
from vae_tf.models.vae import KL_SCHEDULES
from vae_tf.models.vae import NUM_SAMPLES
from vae_tf.models.vae import OBJECTIVE
from vae_tf.models.vae import VAE
from vae_tf.models.vae import VAMP_WITH_FLOW
from vae_tf.models.vae import Z_LOG_VAR_CLIP
from vae_tf.models.vae import check_free_bits
from vae_tf.utils.checks import OneOf


def _build(config, image_shape, common):
    flow = None if config.posterior == "gaussian" else config.posterior
    settings = dict(
        beta=config.beta,
        free_bits=config.free_bits,
        z_log_var_clip=config.z_log_var_clip,
        objective=config.objective,
        num_samples=config.num_samples,
        prior=config.prior,
        prior_components=config.prior_components,
        flow=flow,
        flow_steps=config.flow_steps,
        pixelcnn=None
        if config.decoder == "factorized"
        else build_pixelcnn(
            image_shape,
            DEFAULT_PIXELCNN_LAYERS if config.pixelcnn_layers is None else config.pixelcnn_layers,
            config.pixelcnn_filters,
        ),
        **common,
    )
    if config.stochastic_layers == 2:
        if config.architecture == "mlp":
            networks = build_hierarchical_networks(config.latent_dim, image_shape)
            return HierarchicalVAE(*networks, **settings)
        networks = build_top_down_networks(config.architecture, config.latent_dim, image_shape)
        return TopDownHierarchicalVAE(*networks, **settings)
    networks = build_encoder_decoder(
        config.architecture,
        config.latent_dim,
        image_shape,
        common["num_classes"],
        context_dim=None if flow is None else default_context_dim(config.latent_dim),
    )
    return VAE(*networks, **settings)


def _check_pixelcnn_data(config):
    """The PixelCNN decoder models binary pixels of one channel: what else is refused, and why."""
    if config.likelihood not in ("auto", "bernoulli"):
        raise ValueError(
            f"decoder='pixelcnn' gives Bernoulli pixels; likelihood={config.likelihood!r} is "
            "continuous. Use likelihood='bernoulli' on binary images, or decoder='factorized'."
        )
    if config.dataset in ("cifar10", "faces") or (config.data_dir and config.channels == 3):
        raise ValueError(
            "decoder='pixelcnn' models one channel (its masks order pixels, not the channels "
            "of a pixel); these images are in colour. Use decoder='factorized', or channels=1."
        )
    if not config.binarize and config.dataset != "shapes":
        raise ValueError(
            "decoder='pixelcnn' draws binary pixels, each given the pixels drawn before it, so "
            "it must train on binary images too (grey ones would condition it on values it "
            "never draws): add binarize=True (--binarize), or use decoder='factorized'."
        )


def _check(config):
    flow = None if config.posterior == "gaussian" else config.posterior
    if flow is None and config.flow_steps is not None:
        raise ValueError(
            f"flow_steps={config.flow_steps} without a flow: posterior is 'gaussian'. Give "
            "posterior='planar' or 'iaf' too, or drop flow_steps."
        )
    if flow is not None and config.stochastic_layers == 2:
        raise ValueError(
            f"posterior={flow!r} is built for one stochastic layer: the two-layer models' "
            "posteriors are two Gaussians. Use stochastic_layers=1 with a flow."
        )
    if flow is not None and config.prior == "vamp":
        raise ValueError(VAMP_WITH_FLOW)
    for name in ("pixelcnn_layers", "pixelcnn_filters"):
        if config.decoder == "factorized" and getattr(config, name) is not None:
            raise ValueError(
                f"{name}={getattr(config, name)} without the PixelCNN: decoder is "
                f"'factorized'. Give decoder='pixelcnn' too, or drop {name}."
            )
    if config.decoder == "pixelcnn":
        _check_pixelcnn_data(config)
    check_free_bits(
        config.free_bits, config.objective, config.prior, config.stochastic_layers, flow
    )
    if config.stochastic_layers == 2 and config.conditional:
        raise ValueError(
            "stochastic_layers=2 is built for unconditional models; got conditional=True. "
            "Drop it or use one layer."
        )
    if config.prior == "vamp" and config.conditional:
        raise ValueError(
            "prior 'vamp' needs an unconditional run: its components are the encoder's "
            "posteriors at pseudo-inputs, which have no label. Use prior 'mog' with "
            "conditional."
        )


register_variant(
    Variant(
        name="vae",
        description="the Variational Autoencoder (Kingma & Welling, 2014): ELBO or IWAE bound, "
        "any prior, one or two stochastic layers",
        model_class=VAE,
        build=_build,
        settings={
            "beta": setting(1.0, "Weight of the KL term (beta-VAE); 1 is the true ELBO.", BETA),
            "free_bits": setting(
                0.0, "Free bits: KL floor in nats per latent dimension (0: off).", FREE_BITS
            ),
            "z_log_var_clip": setting(
                None,
                "Clip z_log_var to [-clip, clip] for stability; default: off.",
                Z_LOG_VAR_CLIP,
                type=Optional[float],
            ),
            "objective": setting(
                "elbo",
                "Training objective: elbo (the evidence lower bound; with num_samples > 1, the "
                "mean of that many single-sample ELBOs) or iwae (the importance-weighted bound "
                "of Burda et al., 2015, with num_samples codes per image).",
                OBJECTIVE,
            ),
            "num_samples": setting(
                1,
                "Codes drawn per image at each training step (K of the IWAE bound).",
                NUM_SAMPLES,
            ),
            "prior": setting(
                "normal",
                "p(z): normal (N(0, I)), mog (a mixture of prior_components learned diagonal "
                "Gaussians) or vamp (the VampPrior: the encoder's posteriors at "
                "prior_components learned pseudo-inputs; unconditional runs). The mixtures' KL "
                "is the Monte Carlo estimate log q(z|x) - log p(z).",
                PRIOR,
            ),
            "stochastic_layers": setting(
                1,
                "Layers of latent variables: 1, or 2, the prior over the top layer z2. With "
                "architecture mlp: q(z1|x) q(z2|z1) and p(z2) p(z1|z2) p(x|z1) with Burda et "
                "al.'s networks (100-100 ELU units, z1 of twice latent_dim, 50-50 units, z2 of "
                "latent_dim); with any other (gated: Tomczak & Welling's convHVAE): q(z2|x) "
                "q(z1|x, z2) and p(z2) p(z1|z2) p(x|z1, z2), the preset's networks for x, two "
                "gated dense layers of 300 units for z1, z1 and z2 of latent_dim.",
                OneOf((1, 2)),
            ),
            "prior_components": setting(
                500, "K, the components of the mixture priors (mog, vamp).", PRIOR_COMPONENTS
            ),
            "posterior": setting(
                "gaussian",
                "q(z|x): gaussian (diagonal), planar (planar flows, Rezende & Mohamed, 2015) or "
                "iaf (inverse autoregressive flow, Kingma et al., 2016: MADE steps conditioned "
                "on a context vector of the encoder, the order reversed between steps); a flow's "
                "KL is the Monte Carlo estimate log q(z|x) - log p(z). Any architecture, one "
                "stochastic layer; not with prior vamp or free_bits.",
                POSTERIOR,
            ),
            "flow_steps": setting(
                None,
                f"K, the steps of the flow of --posterior=planar or iaf; default "
                f"{DEFAULT_FLOW_STEPS}.",
                FLOW_STEPS_SETTING,
                type=Optional[int],
            ),
            "decoder": setting(
                "factorized",
                "p(x|z): factorized (independent pixels given z) or pixelcnn (PixelVAE: gated "
                "masked convolutions over the pixels before each one and the decoder's logits; "
                "Bernoulli, one channel; decoding draws the pixels one by one).",
                OneOf(DECODERS),
            ),
            "pixelcnn_layers": setting(
                None,
                f"Gated masked convolutions of --decoder=pixelcnn (a 7x7 of type A, then 3x3 of "
                f"type B); default {DEFAULT_PIXELCNN_LAYERS}.",
                PIXELCNN_LAYERS,
                type=Optional[int],
            ),
            "pixelcnn_filters": setting(
                None,
                f"Channels of each layer of --decoder=pixelcnn; default "
                f"{DEFAULT_PIXELCNN_FILTERS}.",
                PIXELCNN_FILTERS,
                type=Optional[int],
            ),
        },
        takes=KL_SCHEDULES,
        check=_check,
    )
)
