#!/usr/bin/env bash
# Destroy libtradepipe's AWS deployment: every stage in reverse order, or the
# one named.
#
#   infra/scripts/destroy.sh [--yes] [--purge] [STAGE]
#
# Without STAGE: monitoring analytics consumer producer streaming network, in
# that order; the bootstrap stage (the state bucket) stays, since it holds
# the other stages' states. `destroy.sh bootstrap` removes it too, and only
# once no other stage has resources left in its state.
#
# Buckets and the ECR repository that still hold objects or images are not
# deleted (terraform destroy fails on them) unless --purge: then their
# force_destroy is turned on first, and the data bucket's raw-data and
# completed trades, the Athena results and the images go with them. The state
# bucket is always emptied when the bootstrap stage is destroyed.
#
# The same preflight and confirmation as deploy.sh; --yes (or -y): no
# question at all. Settings: infra/scripts/config.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/config.sh
. "$here/config.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

TP_YES=0
purge=0
stage=""
while [ $# -gt 0 ]; do
    case "$1" in
    -y | --yes) TP_YES=1 ;;
    --purge) purge=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
        [ -z "$stage" ] || die "one stage at most (see --help)"
        stage=$1
        ;;
    esac
    shift
done

if [ -n "$stage" ]; then
    is_stage "$stage" || die "unknown stage '$stage': one of ${TP_STAGES[*]}"
    stages=("$stage")
else
    stages=()
    for ((i = ${#TP_STAGES[@]} - 1; i >= 0; i--)); do
        [ "${TP_STAGES[i]}" = bootstrap ] || stages+=("${TP_STAGES[i]}")
    done
fi

flags=(-input=false)
[ "$TP_YES" = 1 ] && flags+=(-auto-approve)

# The resource whose force_destroy (force_delete) --purge turns on, per stage.
purge_target() {
    case "$1" in
    bootstrap) echo aws_s3_bucket.state ;;
    streaming) echo module.streaming.aws_s3_bucket.data ;;
    producer) echo module.producer.aws_ecr_repository.this ;;
    analytics) echo module.analytics.aws_s3_bucket.results ;;
    *) echo "" ;;
    esac
}

# Stages whose state in the bucket still lists managed resources.
stages_left() {
    local s
    for s in "${TP_STAGES[@]}"; do
        [ "$s" = bootstrap ] && continue
        if aws s3 cp "s3://$TP_STATE_BUCKET/stages/$s/terraform.tfstate" - 2>/dev/null |
            grep -q '"mode": "managed"'; then
            printf '%s ' "$s"
        fi
    done
}

preflight
resolve_state_bucket
export_tf_vars
show_target
info "stages   ${stages[*]} (destroyed in this order)"
[ "$purge" = 1 ] && info "--purge: buckets and the ECR repository are deleted with their contents"

if [ "${stages[0]}" = bootstrap ]; then
    [ -f "$TP_STAGES_DIR/bootstrap/terraform.tfstate" ] ||
        die "no bootstrap state here ($TP_STAGES_DIR/bootstrap/terraform.tfstate): nothing to destroy"
    left=$(stages_left)
    [ -z "$left" ] || die "stages still deployed: $left- destroy them first ($0 without a stage)"
elif ! aws s3api head-bucket --bucket "$TP_STATE_BUCKET" >/dev/null 2>&1; then
    die "state bucket $TP_STATE_BUCKET not found: nothing to destroy"
fi

confirm "DESTROY ${stages[*]} in account $TP_ACCOUNT_ID, $AWS_REGION?"

for s in "${stages[@]}"; do
    info "stage $s"
    stage_init "$s"
    target=$(purge_target "$s")
    if [ -n "$target" ] && { [ "$purge" = 1 ] || [ "$s" = bootstrap ]; }; then
        # force_destroy must be in the state before the destroy reads it.
        tf "$s" apply "${flags[@]}" -target="$target" -var force_destroy=true
    fi
    tf "$s" destroy "${flags[@]}"
done

[ "${stages[0]}" = bootstrap ] && rm -f "$TP_BACKEND_HCL"
info "destroyed: ${stages[*]}"
