# shellcheck shell=bash
# Settings of deploy.sh and destroy.sh, sourced by both. Every one can be
# overridden from the environment (TP_NAME=tp2 AWS_REGION=eu-west-1 deploy.sh);
# a stage's terraform.tfvars overrides what they pass to Terraform.

# The repository's root (this file is infra/scripts/config.sh).
TP_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Prefix of every resource name, and the Project tag.
TP_NAME="${TP_NAME:-tradepipe}"

# Region of the deployment (the AWS CLI's variables first).
AWS_REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"

# Terraform state: bucket (empty: the bootstrap stage's, by default
# TP_NAME-tfstate-ACCOUNT_ID-REGION) and its region.
TP_STATE_BUCKET="${TP_STATE_BUCKET:-}"
TP_STATE_REGION="${TP_STATE_REGION:-$AWS_REGION}"

# The consumer's Lambda package (infra/packaging/lambda-zip.sh BUILD_DIR OUT.zip).
TP_LAMBDA_ZIP="${TP_LAMBDA_ZIP:-$TP_REPO_ROOT/build/tp-consumer-lambda.zip}"

# Tag of the tp-producer image in the producer stage's ECR repository. Empty:
# the service runs no task. When set and missing from the repository, deploy.sh
# builds (infra/packaging/Dockerfile) and pushes it if docker is there.
TP_PRODUCER_IMAGE_TAG="${TP_PRODUCER_IMAGE_TAG:-}"
# Platform of that image (the producer stage's cpu_architecture: X86_64).
TP_PRODUCER_PLATFORM="${TP_PRODUCER_PLATFORM:-linux/amd64}"

# Stages, in deployment order (destroy.sh goes the other way).
TP_STAGES=(bootstrap network streaming producer consumer analytics monitoring)
TP_STAGES_DIR="$TP_REPO_ROOT/infra/stages"
TP_BACKEND_HCL="$TP_STAGES_DIR/backend.hcl"

# Oldest Terraform with S3-native state locking (backend "s3" use_lockfile).
TP_TERRAFORM_MIN="1.10.0"

# shellcheck disable=SC2034 # used by the scripts that source this file
readonly TP_REPO_ROOT TP_STAGES TP_STAGES_DIR TP_BACKEND_HCL TP_TERRAFORM_MIN
export AWS_REGION
