"""Where train.py's step spends its time: a TensorFlow profiler trace and its op stats by part.

`profile_training` trains train.py's model of some settings under
`tf.profiler` (after untimed steps that trace the step and warm the
caches) and writes the trace into a folder, which TensorBoard's Profile tab
opens (trace viewer, op stats). `op_time_by_part` reads the trace's op
statistics (with the `xprof` package of `tensorboard-plugin-profile`) and
sums each op's self time into the parts of a step: the networks' forward
and backward passes (a PixelCNN decoder's head included), the loss, the
objective and the metrics, the loss's gradient, the optimizer, the noise,
the input pipeline.

Example:

```python
trace = profile_training({"architecture": "conv", "latent_dim": 2}, "/tmp/profile", steps=100)
for part, share in op_time_by_part(trace).items():
    print(f"{part}: {share:.1%}")
```
"""

import collections
import glob
import json
import os
import re

# The parts of a step, by the op names Keras and TensorFlow give (first match wins).
PARTS = (
    ("input pipeline", re.compile(r"^Iterator::|Dataset")),
    ("networks, backward", re.compile(r"gradient_tape/(while/)?(encoder|decoder|pixelcnn)")),
    ("networks, forward", re.compile(r"^(while/)?(encoder|decoder|pixelcnn)")),
    ("optimizer", re.compile(r"(^|/)((fused_)?adam(_\d+)?/|ResourceApplyAdam)")),
    ("noise", re.compile(r"Random|sampler")),
    ("loss and objective, backward", re.compile(r"^gradient_tape/")),
)
# The rest: the loss, the objective and the metrics' updates (Keras names the latter's ops
# without a scope of their own).
OTHER = "loss, objective and metrics, forward"


def step_part(op_name, op_type=""):
    """The part of a step an op belongs to (`PARTS`, else `OTHER`), from its name and type."""
    name = op_name.split("StatefulPartitionedCall/")[-1]
    # Ops inside the loop of several steps per call carry the loop's prefix.
    name = re.sub(r"^(while/body/_\d+/)+(while/cond/then/_\d+/)?(while/cond/)?", "", name)
    for part, pattern in PARTS:
        if pattern.search(name) or (part == "input pipeline" and op_type == "Dataset"):
            return part
    if op_type.startswith("ResourceApplyAdam"):
        return "optimizer"
    return OTHER


def profile_training(settings, folder, steps=100):
    """Traces `steps` training steps of train.py's model of `settings`; returns the trace file.

    Args:
        settings: `vae_tf.TrainConfig` settings (train.py's flags).
        folder: Where TensorFlow writes the trace (`plugins/profile/...`).
        steps: Steps traced, after as many untimed ones.
    """
    import tensorflow as tf

    from vae_tf import data
    from vae_tf.runs import TrainConfig
    from vae_tf.runs import build_model

    config = TrainConfig(**{"seed": 0, **settings})
    config.validate()
    images = data.load_mnist()[0][0]
    dataset = data.make_dataset(
        images, batch_size=config.batch_size, shuffle=True, binarize=config.binarize, seed=0
    ).repeat()
    model = build_model(config)
    model.dataset_size = len(images)
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    tf.profiler.experimental.start(folder)
    try:
        model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    finally:
        tf.profiler.experimental.stop()
    traces = sorted(glob.glob(os.path.join(folder, "plugins", "profile", "*", "*.xplane.pb")))
    return traces[-1]


def op_time_by_part(trace):
    """`{part: share of the ops' self time}` of a trace, largest first (idle time left out).

    Needs `pip install tensorboard-plugin-profile` (its `xprof` reads traces).
    """
    try:
        from xprof.convert import raw_to_tool_data
    except ImportError:
        raise ImportError(
            "Reading a trace's op stats needs xprof: pip install tensorboard-plugin-profile "
            "(or open the trace in TensorBoard's Profile tab)."
        ) from None
    data, _ = raw_to_tool_data.xspace_to_tool_data([trace], "framework_op_stats", {})
    table = json.loads(data)[1]  # the table without the host's idle time
    columns = [column["label"] for column in table["cols"]]
    totals = collections.Counter()
    for row in table["rows"]:
        op = dict(zip(columns, (cell.get("v") for cell in row["c"])))
        part = step_part(op["Operation Name"], op["Operation Type"])
        totals[part] += op["Total self-time (us)"]
    everything = sum(totals.values())
    return {part: time / everything for part, time in totals.most_common()}
