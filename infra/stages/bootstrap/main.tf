data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  bucket     = coalesce(var.state_bucket, "${var.name}-tfstate-${local.account_id}-${var.region}")
  github     = var.github_repository != ""
  oidc_arn = local.github ? coalesce(
    var.github_oidc_provider_arn,
    one(aws_iam_openid_connect_provider.github[*].arn),
  ) : null
}

# The state bucket: versioned (every state kept), encrypted, private, TLS only.
# Locking needs no table: the S3 backend's use_lockfile writes a .tflock
# object next to the state with a conditional put (Terraform >= 1.10).

resource "aws_s3_bucket" "state" {
  bucket        = local.bucket
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket = aws_s3_bucket.state.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "old-state-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expire_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

data "aws_iam_policy_document" "state_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"] # a Deny: it may cover every action
    resources = [
      aws_s3_bucket.state.arn,
      "${aws_s3_bucket.state.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.state]
}

# GitHub Actions through OIDC (optional): short-lived credentials for the
# workflows, no access keys stored anywhere.

resource "aws_iam_openid_connect_provider" "github" {
  count = local.github && var.github_oidc_provider_arn == null ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
  # IAM trusts GitHub's certificate authority for this provider and no longer
  # checks these; older provider versions still require the argument.
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]
}

data "aws_iam_policy_document" "github_plan_assume" {
  count = local.github ? 1 : 0

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Pull requests of this repository only.
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repository}:pull_request"]
    }
  }
}

data "aws_iam_policy_document" "github_apply_assume" {
  count = local.github ? 1 : 0

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Jobs of the protected environment only.
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repository}:environment:${var.github_apply_environment}"]
    }
  }
}

resource "aws_iam_role" "github_plan" {
  count = local.github ? 1 : 0

  name                 = "${var.name}-github-plan"
  description          = "GitHub Actions: terraform plan on pull requests of ${var.github_repository}"
  assume_role_policy   = data.aws_iam_policy_document.github_plan_assume[0].json
  max_session_duration = 3600
}

resource "aws_iam_role" "github_apply" {
  count = local.github ? 1 : 0

  name                 = "${var.name}-github-apply"
  description          = "GitHub Actions: terraform apply/destroy from ${var.github_repository}, environment ${var.github_apply_environment}"
  assume_role_policy   = data.aws_iam_policy_document.github_apply_assume[0].json
  max_session_duration = 3600
}

# Plan reads the states (and runs with -lock=false: it writes nothing).
data "aws_iam_policy_document" "state_read" {
  statement {
    sid       = "ListStates"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  statement {
    sid       = "ReadStates"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.state.arn}/*"]
  }
}

# Apply reads and writes the states and their lock files.
data "aws_iam_policy_document" "state_write" {
  source_policy_documents = [data.aws_iam_policy_document.state_read.json]

  statement {
    sid = "WriteStatesAndLocks"
    actions = [
      "s3:PutObject",
      "s3:DeleteObject",
    ]
    resources = ["${aws_s3_bucket.state.arn}/*"]
  }
}

resource "aws_iam_role_policy" "github_plan_state" {
  count = local.github ? 1 : 0

  name   = "terraform-state-read"
  role   = aws_iam_role.github_plan[0].id
  policy = data.aws_iam_policy_document.state_read.json
}

resource "aws_iam_role_policy" "github_apply_state" {
  count = local.github ? 1 : 0

  name   = "terraform-state-write"
  role   = aws_iam_role.github_apply[0].id
  policy = data.aws_iam_policy_document.state_write.json
}

resource "aws_iam_role_policy_attachment" "github_plan" {
  for_each = local.github ? toset(var.github_plan_policy_arns) : toset([])

  role       = aws_iam_role.github_plan[0].name
  policy_arn = each.value
}

resource "aws_iam_role_policy_attachment" "github_apply" {
  for_each = local.github ? toset(var.github_apply_policy_arns) : toset([])

  role       = aws_iam_role.github_apply[0].name
  policy_arn = each.value
}
