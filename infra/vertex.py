"""Renders a Vertex AI custom job spec (infra/vertex/*.yaml) and submits it with gcloud.

    python infra/vertex.py --spec single|multi --project P --region R --bucket B --image IMAGE
        [--dataset musdb18hq-v1] [--run NAME] [--steps 200000] [--dry_run]

Data is read from gs://B/datasets/DATASET and the model written to gs://B/models/RUN. The
image is infra/Dockerfile.trainer pushed to a registry the project can pull from. With
--dry_run the rendered spec and the gcloud command are printed and nothing is submitted.
Standard library only, so it runs without the project's virtual environment.
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import shlex
import shutil
import string
import subprocess
import sys
import tempfile

SPECS = {
    "single": pathlib.Path(__file__).parent / "vertex" / "single-node-4gpu.yaml",
    "multi": pathlib.Path(__file__).parent / "vertex" / "multi-worker-2x4gpu.yaml",
}


def render(spec: str, values: dict[str, str]) -> str:
    """The spec with every ``${NAME}`` filled; KeyError names a field left without a value."""
    return string.Template(SPECS[spec].read_text()).substitute(values)


def command(args: argparse.Namespace, config_path: str) -> list[str]:
    return [
        "gcloud", "ai", "custom-jobs", "create",
        f"--project={args.project}", f"--region={args.region}",
        f"--display-name=vocals2song-{args.run}", f"--config={config_path}",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", choices=sorted(SPECS), default="single", help="one machine or two")
    parser.add_argument("--project", required=True, help="Google Cloud project")
    parser.add_argument("--region", required=True, help="Vertex AI region with the GPUs, e.g. europe-west4")
    parser.add_argument("--bucket", required=True, help="bucket name (no gs://) holding datasets/ and models/")
    parser.add_argument("--image", required=True, help="training image (infra/Dockerfile.trainer), pushed")
    parser.add_argument("--dataset", default="musdb18hq-v1", help="data set folder under gs://BUCKET/datasets/")
    parser.add_argument("--run", default=None, help="model folder under gs://BUCKET/models/ (default: a timestamp)")
    parser.add_argument("--steps", type=int, default=200_000, help="total training steps")
    parser.add_argument("--dry_run", action="store_true", help="print the spec and the command, submit nothing")
    args = parser.parse_args(argv)
    args.run = args.run or datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    values = {
        "IMAGE": args.image,
        "DATA_DIR": f"gs://{args.bucket}/datasets/{args.dataset}",
        "MODEL_DIR": f"gs://{args.bucket}/models/{args.run}",
        "STEPS": str(args.steps),
    }
    spec = render(args.spec, values)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(spec)
    launch = command(args, handle.name)
    if args.dry_run:
        print(spec)
        print("# " + shlex.join(launch))
        return 0
    if shutil.which("gcloud") is None:
        print("vertex.py: error: gcloud is not installed (https://cloud.google.com/sdk)", file=sys.stderr)
        return 2
    print(shlex.join(launch), flush=True)
    return subprocess.call(launch)


if __name__ == "__main__":
    sys.exit(main())
