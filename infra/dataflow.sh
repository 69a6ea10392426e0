#!/usr/bin/env bash
# Launches the dataset job on Dataflow: MUSDB18-HQ in gs://, shards out to gs://.
#
#   PROJECT=my-project REGION=europe-west4 BUCKET=my-bucket infra/dataflow.sh [extra job or Beam flags]
#   make dataset-dataflow PROJECT=... REGION=... BUCKET=...
#
# Reads gs://$BUCKET/${MUSDB_PREFIX:-musdb18hq} (train/ and test/ as in MUSDB18-HQ), writes
# gs://$BUCKET/datasets/${NAME:-musdb18hq-v1}. Workers install the package from setup.py
# (Beam builds and stages its sdist), or use a prebuilt container when IMAGE is set
# (infra/Dockerfile.dataflow). Credentials: the usual Google ones (gcloud auth
# application-default login, or a service account). DRY_RUN=1 prints the command instead.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${PROJECT:?set PROJECT to the Google Cloud project}"
: "${REGION:?set REGION, e.g. europe-west4}"
: "${BUCKET:?set BUCKET to a gs:// bucket name (no gs:// prefix)}"
MUSDB_PREFIX="${MUSDB_PREFIX:-musdb18hq}"
NAME="${NAME:-musdb18hq-v1}"
MAX_WORKERS="${MAX_WORKERS:-16}"
MACHINE_TYPE="${MACHINE_TYPE:-n2-highmem-4}"  # one 15 s stereo segment set is ~100 MB in flight
VOCALS2SONG="${VOCALS2SONG:-.venv/bin/vocals2song}"

command=(
  "$VOCALS2SONG" dataset
  --musdb_root "gs://$BUCKET/$MUSDB_PREFIX"
  --output_dir "gs://$BUCKET/datasets/$NAME"
  --runner DataflowRunner
  --project "$PROJECT"
  --region "$REGION"
  --job_name "vocals2song-dataset-$(date -u +%Y%m%d-%H%M%S)"
  --temp_location "gs://$BUCKET/dataflow/tmp"
  --staging_location "gs://$BUCKET/dataflow/staging"
  --max_num_workers "$MAX_WORKERS"
  --machine_type "$MACHINE_TYPE"
  --experiments use_runner_v2
)
if [[ -n "${IMAGE:-}" ]]; then
  command+=(--sdk_container_image "$IMAGE")
else
  command+=(--setup_file ./setup.py)
fi
command+=("$@")

if [[ "${DRY_RUN:-0}" == 1 ]]; then
  printf '%q ' "${command[@]}"
  echo
else
  exec "${command[@]}"
fi
