"""The presets shipped in the package, by name: what each is, and how it is made and measured.

As KerasHub's `bert_presets.py`: one dict, a name per model. Each entry is
the recipe that `scripts/make_presets.py` follows (`make_preset`):

- `description`: what the model is, for `metadata(name)` and docs/presets.md;
- `settings`: the `TrainConfig` fields that differ from their defaults, that
  is the train.py command that trains it (`TrainConfig.command()`);
- `evaluation`: its measurement, `evaluate.py`'s protocol: `k` importance
  samples on the first `num_examples` test images, and `sample_quality`
  (FID, precision, recall) where a judge of the dataset exists and drawing
  10,000 samples is affordable;
- `check`: the small slice (`k`, `num_examples`) whose figures the metadata
  also records, so that a test re-measures them in seconds.

The measured numbers themselves live in each preset's metadata.json.
"""

# The protocol of the 28x28 models: K=1000 on all 10,000 test images.
_MNIST_EVALUATION = {"k": 1000, "num_examples": 10000, "sample_quality": True}
# Of the 64x64 models (no judge: their images have no labels): K=100 on 5,000.
_FACTORS_EVALUATION = {"k": 100, "num_examples": 5000, "sample_quality": False}
_CHECK = {"k": 10, "num_examples": 48}

SHIPPED_PRESETS = {
    "mnist_conv_latent2": {
        "description": (
            "The keras.io example's convolutional VAE with a 2-D latent space, on grey MNIST "
            "digits: the default train.py command's model, whose latent space is a map of the "
            "digits to explore."
        ),
        "settings": {"latent_dim": 2},
        "evaluation": _MNIST_EVALUATION,
        "check": _CHECK,
    },
    "mnist_gated_latent50": {
        "description": (
            "The headline likelihood model: gated convolutional networks (Tomczak & Welling) "
            "with a PixelCNN decoder (PixelVAE), 50 latent dimensions, on dynamically "
            "binarized MNIST. Its decoder draws pixel by pixel: samples take seconds."
        ),
        "settings": {
            "architecture": "gated",
            "latent_dim": 50,
            "binarize": True,
            "decoder": "pixelcnn",
            "kl_warmup_epochs": 5,
            "epochs": 40,
            "time_limit": "10h",
        },
        # 10,000 samples drawn pixel by pixel would take hours here: no sample quality.
        "evaluation": {**_MNIST_EVALUATION, "sample_quality": False},
        "check": _CHECK,
    },
    "mnist_conditional": {
        "description": (
            "A conditional VAE (labels given to the encoder and decoder), 2-D latent space, "
            "on grey MNIST: choose the digit, the code gives the style."
        ),
        "settings": {"conditional": True, "latent_dim": 2},
        "evaluation": _MNIST_EVALUATION,
        "check": _CHECK,
    },
    "mnist_vq_vae": {
        "description": (
            "A VQ-VAE (512 codes, residual networks) with its gated PixelCNN prior over the "
            "7x7 code maps, on dynamically binarized MNIST: the library's best samples by FID."
        ),
        "settings": {
            "model": "vq_vae",
            "latent_dim": 16,
            "binarize": True,
            "epochs": 20,
            "prior_epochs": 20,
            "seed": 0,
        },
        "evaluation": _MNIST_EVALUATION,
        "check": _CHECK,
    },
    "shapes_beta_tcvae": {
        "description": (
            "A beta-TCVAE (total correlation weight 6) on the generated dSprites-like shapes, "
            "disentanglement_lib's 64x64 networks, 10 latent dimensions: the best "
            "disentangler of the library's sweep (MIG, FactorVAE score in its metadata)."
        ),
        "settings": {
            "model": "beta_tcvae",
            "dataset": "shapes",
            "architecture": "dlib64",
            "latent_dim": 10,
            "batch_size": 64,
            "learning_rate": 0.0005,
            "seed": 0,
        },
        "evaluation": _FACTORS_EVALUATION,
        "check": _CHECK,
    },
    "faces_beta_tcvae": {
        "description": (
            "A beta-TCVAE (total correlation weight 6) on the generated 64x64 RGB cartoon faces "
            "(eight known factors: smile, eyes, head turn, width, skin, hair, background, "
            "light), disentanglement_lib's networks, 10 latent dimensions."
        ),
        "settings": {
            "model": "beta_tcvae",
            "dataset": "faces",
            "architecture": "dlib64",
            "likelihood": "bernoulli",
            "latent_dim": 10,
            "batch_size": 64,
            "learning_rate": 0.0005,
            "epochs": 10,
            "seed": 1,
        },
        "evaluation": _FACTORS_EVALUATION,
        "check": _CHECK,
    },
}
