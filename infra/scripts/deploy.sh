#!/usr/bin/env bash
# Deploy libtradepipe to AWS: every stage in order, or the one named.
#
#   infra/scripts/deploy.sh [--yes] [STAGE]
#
# Stages, in order: bootstrap network streaming producer consumer analytics
# monitoring. bootstrap makes the Terraform state bucket (its own state stays
# in infra/stages/bootstrap/terraform.tfstate); the others keep their state in
# that bucket (S3-native locking) and read the earlier stages' outputs.
#
# First the preflight: terraform (1.10 or newer) and the AWS CLI are there,
# the credentials work (aws sts get-caller-identity); it shows the account,
# region and state bucket, then asks before it changes anything. Each stage
# is `terraform init` then `terraform apply`, which shows its plan and asks
# again. --yes (or -y): no question at all (CI).
#
# Settings: infra/scripts/config.sh, each overridable from the environment
# (TP_NAME, AWS_REGION, TP_STATE_BUCKET, TP_LAMBDA_ZIP, TP_PRODUCER_IMAGE_TAG,
# ...); a stage's terraform.tfvars (see terraform.tfvars.example) overrides
# what they pass. The consumer stage needs the Lambda zip (TP_LAMBDA_ZIP,
# from infra/packaging/lambda-zip.sh). The producer stage runs a task once
# TP_PRODUCER_IMAGE_TAG names an image: when it is not in the stage's ECR
# repository yet and docker is installed, the image is built from
# infra/packaging/Dockerfile and pushed first.
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
stage=""
while [ $# -gt 0 ]; do
    case "$1" in
    -y | --yes) TP_YES=1 ;;
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
    stages=("${TP_STAGES[@]}")
fi

apply_flags=(-input=false)
[ "$TP_YES" = 1 ] && apply_flags+=(-auto-approve)

# The tp-producer image in the stage's repository: the repository alone
# first, then the image built and pushed unless it is there already.
ensure_producer_image() {
    local repo="$TP_NAME/tp-producer" tag=$TP_PRODUCER_IMAGE_TAG url
    info "producer: ECR repository $repo"
    tf producer apply "${apply_flags[@]}" -target=module.producer.aws_ecr_repository.this
    if aws ecr describe-images --repository-name "$repo" --image-ids "imageTag=$tag" >/dev/null 2>&1; then
        info "producer: image $repo:$tag is in ECR"
        return 0
    fi
    command -v docker >/dev/null 2>&1 ||
        die "image $repo:$tag is not in ECR and docker is not installed: push it (README, Deploy to AWS), then run $0 producer again"
    url=$(aws ecr describe-repositories --repository-names "$repo" \
        --query 'repositories[0].repositoryUri' --output text)
    info "producer: building and pushing $url:$tag ($TP_PRODUCER_PLATFORM)"
    aws ecr get-login-password | docker login --username AWS --password-stdin "${url%%/*}"
    docker build --platform "$TP_PRODUCER_PLATFORM" -f "$TP_REPO_ROOT/infra/packaging/Dockerfile" \
        -t "$url:$tag" "$TP_REPO_ROOT"
    docker push "$url:$tag"
}

preflight
resolve_state_bucket
export_tf_vars
show_target
info "stages   ${stages[*]}"

for s in "${stages[@]}"; do
    case "$s" in
    consumer)
        [ -f "$TP_LAMBDA_ZIP" ] || die "no Lambda package at $TP_LAMBDA_ZIP: build it (infra/packaging/lambda-zip.sh BUILD_DIR $TP_LAMBDA_ZIP) or set TP_LAMBDA_ZIP"
        ;;
    producer)
        [ -n "$TP_PRODUCER_IMAGE_TAG" ] ||
            info "TP_PRODUCER_IMAGE_TAG is empty: the producer service is created with no task running"
        ;;
    esac
done
if [ "${stages[0]}" != bootstrap ]; then
    aws s3api head-bucket --bucket "$TP_STATE_BUCKET" >/dev/null 2>&1 ||
        die "state bucket $TP_STATE_BUCKET not found: deploy the bootstrap stage first ($0 bootstrap)"
fi

confirm "Deploy ${stages[*]} to account $TP_ACCOUNT_ID in $AWS_REGION?"

for s in "${stages[@]}"; do
    info "stage $s"
    stage_init "$s"
    if [ "$s" = producer ] && [ -n "$TP_PRODUCER_IMAGE_TAG" ]; then
        ensure_producer_image
    fi
    tf "$s" apply "${apply_flags[@]}"
    if [ "$s" = bootstrap ]; then
        # The bucket may have another name in bootstrap/terraform.tfvars.
        resolve_state_bucket
        export TF_VAR_state_bucket="$TP_STATE_BUCKET"
        write_backend_hcl
        info "state bucket s3://$TP_STATE_BUCKET (backend configuration in $TP_BACKEND_HCL)"
    fi
done

info "deployed: ${stages[*]}"
