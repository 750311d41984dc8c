#!/usr/bin/env bash
# infra_terraform: Terraform's own checks of infra/, where terraform is
# installed (it is not in Debian's archive; the other infra checks do not
# need it):
#   terraform fmt -check -recursive -diff   on the whole tree;
#   terraform init -backend=false + terraform validate   in every directory
#     of infra/modules/ and infra/stages/ that holds .tf files. Providers are
#     installed only from a local filesystem mirror (TP_TF_PROVIDER_MIRROR,
#     default ~/.terraform.d/plugins), never from the network; without one,
#     validate is skipped and says so.
# Usage: check-terraform.sh [INFRA_DIR]   (default: infra/ of the repository)
# Exit 0 when all ran checks pass (or when terraform is missing: "skipped"),
# 1 on findings.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
infra=${1:-$root/infra}

if ! command -v terraform >/dev/null 2>&1; then
    echo "infra_terraform: skipped: terraform not installed (terraform fmt -check and terraform validate not run)"
    exit 0
fi
if [ ! -d "$infra" ] || [ -z "$(find "$infra" -name '*.tf' -not -path '*/.terraform/*' -print -quit)" ]; then
    echo "infra_terraform: no .tf files under $infra: nothing to check"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# No CLI configuration of the user's, no checkpoint calls.
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
export TF_CLI_CONFIG_FILE=$work/terraformrc
: >"$TF_CLI_CONFIG_FILE"

version=$(terraform version | sed -n 1p)  # sed reads it all: no SIGPIPE under pipefail
echo "infra_terraform: $version"
rc=0

echo "== terraform fmt -check -recursive $infra"
if ! terraform fmt -check -recursive -diff -no-color "$infra"; then
    echo "infra_terraform: terraform fmt: files above are not formatted"
    rc=1
fi

mirror=${TP_TF_PROVIDER_MIRROR:-$HOME/.terraform.d/plugins}
dirs=()
for d in "$infra"/modules/* "$infra"/stages/*; do
    [ -d "$d" ] && compgen -G "$d/*.tf" >/dev/null && dirs+=("$d")
done
if [ ! -d "$mirror" ]; then
    echo "infra_terraform: terraform validate skipped for ${#dirs[@]} directories: no provider mirror at $mirror" \
         "(terraform init cannot download providers offline; set TP_TF_PROVIDER_MIRROR to a filesystem mirror)"
else
    cat >"$TF_CLI_CONFIG_FILE" <<CFG
provider_installation {
  filesystem_mirror {
    path = "$mirror"
  }
}
CFG
    for d in "${dirs[@]}"; do
        name=${d#"$infra"/}
        echo "== terraform validate $name"
        export TF_DATA_DIR=$work/data/${name//\//_}
        if ! (cd "$d" && terraform init -backend=false -input=false -no-color >"$work/init.log" 2>&1); then
            cat "$work/init.log"
            echo "infra_terraform: $name: terraform init failed"
            rc=1
            continue
        fi
        if ! (cd "$d" && terraform validate -no-color); then
            echo "infra_terraform: $name: terraform validate failed"
            rc=1
        fi
        rm -f "$d/.terraform.lock.hcl.new"
    done
fi
exit $rc
