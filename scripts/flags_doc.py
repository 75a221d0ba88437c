"""Writes docs/flags.md from the settings' own metadata (TrainConfig and the model registry).

python scripts/flags_doc.py            # rewrites docs/flags.md
python scripts/flags_doc.py --check    # exits 1 if docs/flags.md is not current
"""

import os
import sys

from absl import flags

from vae_tf import cli

FLAGS = flags.FLAGS
flags.DEFINE_bool("check", False, "Only check that docs/flags.md is current (exit 1 if not).")
PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "flags.md")


def main(argv):
    text = cli.flags_markdown()
    if FLAGS.check:
        with open(PATH) as f:
            if f.read() != text:
                print(f"{PATH} is not current: run python scripts/flags_doc.py", file=sys.stderr)
                sys.exit(1)
        return
    with open(PATH, "w") as f:
        f.write(text)
    print(f"wrote {PATH}")


if __name__ == "__main__":
    cli.run(main)
