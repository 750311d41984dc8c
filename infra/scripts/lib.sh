# shellcheck shell=bash
# Functions shared by deploy.sh and destroy.sh (sourced after config.sh).

die() {
    printf '%s: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

info() {
    printf '==> %s\n' "$*" >&2
}

# version_ge A B: A >= B, dotted versions.
version_ge() {
    [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$2" ]
}

is_stage() {
    local s
    for s in "${TP_STAGES[@]}"; do
        [ "$s" = "$1" ] && return 0
    done
    return 1
}

# tf STAGE ARGS...: terraform in the stage's directory.
tf() {
    local stage=$1
    shift
    terraform -chdir="$TP_STAGES_DIR/$stage" "$@"
}

# The tools, their versions, and who we are: sets TP_ACCOUNT_ID, TP_CALLER_ARN.
preflight() {
    local cmd version identity
    for cmd in terraform aws; do
        command -v "$cmd" >/dev/null 2>&1 || die "$cmd is not installed (see README, Deploy to AWS: prerequisites)"
    done
    version=$(terraform version | sed -n '1s/^Terraform v\([0-9][0-9.]*\).*/\1/p')
    [ -n "$version" ] || die "cannot read the version of terraform"
    version_ge "$version" "$TP_TERRAFORM_MIN" ||
        die "terraform $version is too old: $TP_TERRAFORM_MIN or newer is needed (S3 state locking with use_lockfile)"
    identity=$(aws sts get-caller-identity --query '[Account, Arn]' --output text) ||
        die "no AWS credentials (aws sts get-caller-identity failed): configure a profile or SSO session"
    read -r TP_ACCOUNT_ID TP_CALLER_ARN <<<"$identity"
    [ -n "$TP_ACCOUNT_ID" ] || die "aws sts get-caller-identity gave no account"
    info "terraform $version, aws $(aws --version 2>&1 | cut -d' ' -f1 | cut -d/ -f2)"
}

# The state bucket: the bootstrap stage's output when it has a state, else
# TP_STATE_BUCKET, else the bootstrap's default name.
resolve_state_bucket() {
    local out=""
    if [ -f "$TP_STAGES_DIR/bootstrap/terraform.tfstate" ]; then
        out=$(tf bootstrap output -raw state_bucket 2>/dev/null || true)
    fi
    if [ -n "$out" ]; then
        TP_STATE_BUCKET=$out
    elif [ -z "$TP_STATE_BUCKET" ]; then
        TP_STATE_BUCKET="$TP_NAME-tfstate-$TP_ACCOUNT_ID-$TP_STATE_REGION"
    fi
}

# The settings every stage gets (a stage's terraform.tfvars wins over them).
export_tf_vars() {
    export TF_IN_AUTOMATION=1
    export TF_VAR_region="$AWS_REGION"
    export TF_VAR_name="$TP_NAME"
    export TF_VAR_state_bucket="$TP_STATE_BUCKET"
    export TF_VAR_state_region="$TP_STATE_REGION"
    export TF_VAR_package_zip="$TP_LAMBDA_ZIP"
    export TF_VAR_image_tag="$TP_PRODUCER_IMAGE_TAG"
}

write_backend_hcl() {
    printf 'bucket = "%s"\nregion = "%s"\n' "$TP_STATE_BUCKET" "$TP_STATE_REGION" >"$TP_BACKEND_HCL"
}

# stage_init STAGE: terraform init, the bootstrap on local state, the others
# on the state bucket.
stage_init() {
    if [ "$1" = bootstrap ]; then
        tf bootstrap init -input=false
    else
        write_backend_hcl
        tf "$1" init -input=false -reconfigure -backend-config="$TP_BACKEND_HCL"
    fi
}

# confirm QUESTION: yes with --yes; otherwise ask on the terminal.
confirm() {
    [ "${TP_YES:-0}" = 1 ] && return 0
    [ -t 0 ] || die "no terminal to ask on: pass --yes to go ahead without a confirmation"
    local answer
    read -r -p "$1 [y/N] " answer
    case "$answer" in
    y | Y | yes | YES) return 0 ;;
    *) die "stopped: nothing was changed" ;;
    esac
}

show_target() {
    info "account  $TP_ACCOUNT_ID ($TP_CALLER_ARN)"
    info "region   $AWS_REGION"
    info "name     $TP_NAME"
    info "state    s3://$TP_STATE_BUCKET ($TP_STATE_REGION)"
}
