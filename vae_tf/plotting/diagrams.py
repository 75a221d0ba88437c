"""Diagrams of the networks, drawn by Graphviz through `keras.utils.plot_model`.

Example:

>>> save_model_diagram(vae.encoder, "encoder.png")
"""

import os

import keras


def save_model_diagram(model, path):
    """Draws `model` with `keras.utils.plot_model` into `path` (a .png).

    Without Graphviz (the `dot` program) nothing can be rendered: the diagram's
    Graphviz source is written beside it as `.dot` instead, and a hint is
    printed.

    Returns:
        The path of the file written.
    """
    try:
        keras.utils.plot_model(model, to_file=path, show_shapes=True, show_layer_names=True, dpi=96)
    except ImportError:
        pass  # Outside IPython plot_model raises; inside it only prints.
    if os.path.exists(path):
        return path
    dot_path = os.path.splitext(path)[0] + ".dot"
    dot = keras.utils.model_to_dot(model, show_shapes=True, show_layer_names=True)
    with open(dot_path, "w") as f:
        f.write(dot.to_string())
    print(
        f"Graphviz not found: wrote {dot_path} instead of {os.path.basename(path)}"
        " (install Graphviz, e.g. `apt-get install graphviz`, to get PNGs)."
    )
    return dot_path
