module "analytics" {
  source = "../../modules/analytics"

  name              = var.name
  data_bucket_name  = data.terraform_remote_state.streaming.outputs.bucket_name
  raw_data_prefix   = data.terraform_remote_state.streaming.outputs.raw_data_prefix
  trades_key_prefix = data.terraform_remote_state.consumer.outputs.trades_key_prefix

  projection_start               = var.projection_start
  bytes_scanned_cutoff_per_query = var.bytes_scanned_cutoff_per_query
  results_expire_days            = var.results_expire_days
  force_destroy                  = var.force_destroy
}
