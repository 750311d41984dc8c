# Offline: a mocked AWS provider (Terraform 1.7+), `terraform test` in
# infra/modules/monitoring.

mock_provider "aws" {
  override_data {
    target = data.aws_region.current
    values = { name = "us-east-1" }
  }

  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:123456789012:tradepipe-alarms" }
  }
}

variables {
  stream_name        = "tradepipe"
  firehose_name      = "tradepipe-raw"
  function_name      = "tradepipe-consumer"
  table_names        = ["tradepipe-positions", "tradepipe-positions-shards"]
  failure_queue_name = "tradepipe-consumer-failures"
}

run "no_email" {
  command = apply

  assert {
    condition     = length(aws_sns_topic.alarms) == 0 && length(aws_cloudwatch_metric_alarm.lambda_errors.alarm_actions) == 0
    error_message = "no topic, no actions without an address"
  }

  assert {
    condition     = length(output.alarm_arns) == 11
    error_message = "eight alarms, one per table, one on the failure queue"
  }

  assert {
    condition = toset([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.properties.title
      ]) == toset([
      "Kinesis: records in", "Kinesis: GetRecords.IteratorAgeMilliseconds (max)", "Kinesis: throughput exceeded",
      "Lambda: invocations, errors, throttles", "Lambda: duration (ms)", "Lambda: IteratorAge (max, ms)",
      "Consumer: records and ticks per shard", "Consumer: signals and trades per shard",
      "Consumer: realized P&L per shard", "Consumer: iterator age and batch latency (max, ms)",
      "Consumer: throttles, conditional write conflicts, duplicates",
      "Consumer: poisoned, malformed, item failures", "Firehose: DeliveryToS3.Success (ratio)",
      "Firehose: DeliveryToS3.DataFreshness (max, s)", "DynamoDB: ThrottledRequests", "Alarms",
    ])
    error_message = "dashboard widgets"
  }

  assert {
    condition     = strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "{tradepipe,Shard} MetricName=\\\"ConditionalWriteConflicts\\\"")
    error_message = "the consumer's EMF metrics by shard"
  }
}

run "email" {
  command = apply

  variables {
    alarm_email = "oncall@example.com"
  }

  assert {
    condition     = aws_sns_topic_subscription.email[0].endpoint == "oncall@example.com" && aws_sns_topic_subscription.email[0].protocol == "email"
    error_message = "an e-mail subscription"
  }

  assert {
    condition     = tolist(aws_cloudwatch_metric_alarm.stream_iterator_age.alarm_actions) == tolist([aws_sns_topic.alarms[0].arn])
    error_message = "alarms notify the topic"
  }
}
