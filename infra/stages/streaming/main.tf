module "streaming" {
  source = "../../modules/streaming"

  name                       = var.name
  stream_mode                = var.stream_mode
  shard_count                = var.shard_count
  retention_hours            = var.retention_hours
  kms_key_arn                = var.kms_key_arn
  bucket_name                = var.bucket_name
  force_destroy              = var.force_destroy
  buffering_size_mb          = var.buffering_size_mb
  buffering_interval_seconds = var.buffering_interval_seconds
  raw_data_ia_days           = var.raw_data_ia_days
  raw_data_expire_days       = var.raw_data_expire_days
}
