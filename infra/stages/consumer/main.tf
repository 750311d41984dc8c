module "consumer" {
  source = "../../modules/consumer"

  name               = var.name
  stream_arn         = data.terraform_remote_state.streaming.outputs.stream_arn
  stream_kms_key_arn = data.terraform_remote_state.streaming.outputs.stream_kms_key_arn
  bucket_name        = data.terraform_remote_state.streaming.outputs.bucket_name
  bucket_arn         = data.terraform_remote_state.streaming.outputs.bucket_arn
  trades_prefix      = var.trades_prefix

  package_zip     = var.package_zip
  architecture    = var.architecture
  memory_size     = var.memory_size
  timeout_seconds = var.timeout_seconds

  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  parallelization_factor             = var.parallelization_factor
  maximum_retry_attempts             = var.maximum_retry_attempts
  starting_position                  = var.starting_position

  engine_settings     = var.engine_settings
  deletion_protection = var.deletion_protection
}
