#!/usr/bin/env bash
# Submits a tailsim sweep to Slurm as an array of TASKS shards (sweep.sbatch) and the merge
# after it (merge.sbatch, --dependency=afterok), and prints the two job ids. With --wait it
# returns when the merge has finished, with its exit code.
#
#   SCENARIO=scenarios/mm1.ron SWEEP_ARGS="--param clients.users.rate=100..900:20 -r 10" \
#     TASKS=16 deploy/slurm/submit.sh [--wait]
#
# SHARDS, RESULT and TAILSIM are passed on (see sweep.sbatch); Slurm's logs go to
# $SHARDS/slurm-<job>_<task>.out.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${SCENARIO:?set SCENARIO to the scenario file}"
tasks=${TASKS:-4}
export SHARDS=${SHARDS:-shards} RESULT=${RESULT:-result}
mkdir -p "$SHARDS"
array=$(sbatch --parsable --array="0-$((tasks - 1))" --output="$SHARDS/slurm-%A_%a.out" "$here/sweep.sbatch")
wait=()
[ "${1:-}" = --wait ] && wait=(--wait)
echo "sweep: job array $array of $tasks tasks"
merge=$(sbatch --parsable "${wait[@]}" --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --output="$SHARDS/slurm-%j-merge.out" "$here/merge.sbatch")
echo "merge: job $merge, into $RESULT"
