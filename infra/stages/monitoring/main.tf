locals {
  streaming = data.terraform_remote_state.streaming.outputs
  consumer  = data.terraform_remote_state.consumer.outputs
}

module "monitoring" {
  source = "../../modules/monitoring"

  name               = var.name
  stream_name        = local.streaming.stream_name
  firehose_name      = local.streaming.firehose_name
  function_name      = local.consumer.function_name
  table_names        = [local.consumer.positions_table_name, local.consumer.state_table_name]
  failure_queue_name = local.consumer.failure_queue_name

  alarm_email                          = var.alarm_email
  iterator_age_threshold_ms            = var.iterator_age_threshold_ms
  lambda_duration_threshold_ms         = floor(local.consumer.timeout_seconds * 1000 * 0.8)
  firehose_freshness_threshold_seconds = var.firehose_freshness_threshold_seconds
}
