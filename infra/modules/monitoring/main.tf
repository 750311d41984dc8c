data "aws_region" "current" {}

locals {
  region  = data.aws_region.current.name
  ns      = var.metrics_namespace
  actions = concat(aws_sns_topic.alarms[*].arn, var.alarm_actions)

  # A SEARCH over the consumer's EMF metrics, one line per shard (no label:
  # CloudWatch names each line by its metric and shard).
  emf = { for m in [
    "Records", "Ticks", "Signals", "Trades", "RealizedPnl", "Duplicates", "Poisoned",
    "ItemFailures", "Malformed", "Throttles", "ConditionalWriteConflicts",
    "IteratorAgeMilliseconds", "BatchLatencyMilliseconds",
  ] : m => "SEARCH('{${local.ns},Shard} MetricName=\"${m}\"', '${endswith(m, "Milliseconds") ? "Maximum" : "Sum"}', 60)" }

  # Dashboard widgets in reading order; laid out three to a row below.
  widgets = [
    {
      title = "Kinesis: records in"
      stat  = "Sum"
      metrics = [
        ["AWS/Kinesis", "IncomingRecords", "StreamName", var.stream_name],
        ["AWS/Kinesis", "PutRecords.SuccessfulRecords", "StreamName", var.stream_name],
      ]
    },
    {
      title = "Kinesis: GetRecords.IteratorAgeMilliseconds (max)"
      stat  = "Maximum"
      metrics = [
        ["AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName", var.stream_name],
      ]
    },
    {
      title = "Kinesis: throughput exceeded"
      stat  = "Sum"
      metrics = [
        ["AWS/Kinesis", "WriteProvisionedThroughputExceeded", "StreamName", var.stream_name],
        ["AWS/Kinesis", "ReadProvisionedThroughputExceeded", "StreamName", var.stream_name],
      ]
    },
    {
      title = "Lambda: invocations, errors, throttles"
      stat  = "Sum"
      metrics = [
        ["AWS/Lambda", "Invocations", "FunctionName", var.function_name],
        ["AWS/Lambda", "Errors", "FunctionName", var.function_name],
        ["AWS/Lambda", "Throttles", "FunctionName", var.function_name],
      ]
    },
    {
      title = "Lambda: duration (ms)"
      stat  = "Average"
      metrics = [
        ["AWS/Lambda", "Duration", "FunctionName", var.function_name, { stat = "Average" }],
        ["AWS/Lambda", "Duration", "FunctionName", var.function_name, { stat = "Maximum" }],
      ]
    },
    {
      title = "Lambda: IteratorAge (max, ms)"
      stat  = "Maximum"
      metrics = [
        ["AWS/Lambda", "IteratorAge", "FunctionName", var.function_name],
      ]
    },
    {
      title   = "Consumer: records and ticks per shard"
      stat    = "Sum"
      metrics = [for m in ["Records", "Ticks"] : [{ id = lower(m), expression = local.emf[m] }]]
    },
    {
      title   = "Consumer: signals and trades per shard"
      stat    = "Sum"
      metrics = [for m in ["Signals", "Trades"] : [{ id = lower(m), expression = local.emf[m] }]]
    },
    {
      title   = "Consumer: realized P&L per shard"
      stat    = "Sum"
      metrics = [[{ id = "pnl", expression = local.emf["RealizedPnl"] }]]
    },
    {
      title   = "Consumer: iterator age and batch latency (max, ms)"
      stat    = "Maximum"
      metrics = [for m in ["IteratorAgeMilliseconds", "BatchLatencyMilliseconds"] : [{ id = lower(m), expression = local.emf[m] }]]
    },
    {
      title = "Consumer: throttles, conditional write conflicts, duplicates"
      stat  = "Sum"
      metrics = [for m in ["Throttles", "ConditionalWriteConflicts", "Duplicates"] :
      [{ id = lower(m), expression = local.emf[m] }]]
    },
    {
      title = "Consumer: poisoned, malformed, item failures"
      stat  = "Sum"
      metrics = [for m in ["Poisoned", "Malformed", "ItemFailures"] :
      [{ id = lower(m), expression = local.emf[m] }]]
    },
    {
      title = "Firehose: DeliveryToS3.Success (ratio)"
      stat  = "Average"
      metrics = [
        ["AWS/Firehose", "DeliveryToS3.Success", "DeliveryStreamName", var.firehose_name],
      ]
    },
    {
      title = "Firehose: DeliveryToS3.DataFreshness (max, s)"
      stat  = "Maximum"
      metrics = [
        ["AWS/Firehose", "DeliveryToS3.DataFreshness", "DeliveryStreamName", var.firehose_name],
      ]
    },
    {
      title = "DynamoDB: ThrottledRequests"
      stat  = "Sum"
      metrics = [for i, t in var.table_names : [{
        id         = "throttled${i}"
        expression = "SEARCH('{AWS/DynamoDB,Operation,TableName} MetricName=\"ThrottledRequests\" TableName=\"${t}\"', 'Sum', 60)"
      }]]
    },
  ]

  dashboard = {
    widgets = concat(
      [for i, w in local.widgets : {
        type   = "metric"
        x      = (i % 3) * 8
        y      = floor(i / 3) * 6
        width  = 8
        height = 6
        properties = {
          title   = w.title
          region  = local.region
          view    = "timeSeries"
          stacked = false
          period  = 60
          stat    = w.stat
          metrics = w.metrics
        }
      }],
      [{
        type   = "alarm"
        x      = 0
        y      = ceil(length(local.widgets) / 3) * 6
        width  = 24
        height = 4
        properties = {
          title  = "Alarms"
          alarms = local.alarm_arns
        }
      }],
    )
  }

  alarm_arns = concat(
    [
      aws_cloudwatch_metric_alarm.stream_iterator_age.arn,
      aws_cloudwatch_metric_alarm.write_throttles.arn,
      aws_cloudwatch_metric_alarm.lambda_errors.arn,
      aws_cloudwatch_metric_alarm.lambda_duration.arn,
      aws_cloudwatch_metric_alarm.lambda_iterator_age.arn,
      aws_cloudwatch_metric_alarm.firehose_delivery.arn,
      aws_cloudwatch_metric_alarm.firehose_freshness.arn,
      aws_cloudwatch_metric_alarm.consumer_poisoned.arn,
    ],
    [for a in aws_cloudwatch_metric_alarm.dynamodb_throttles : a.arn],
    aws_cloudwatch_metric_alarm.failure_queue[*].arn,
  )

  tags = merge(var.tags, { Module = "tradepipe/monitoring" })
}

# Alarm notifications: an SNS topic with an e-mail subscription, only when an
# address is given. (Not encrypted with alias/aws/sns: CloudWatch cannot
# publish to a topic under that key, whose policy cannot grant it.)
resource "aws_sns_topic" "alarms" {
  count = var.alarm_email != "" ? 1 : 0

  name = "${var.name}-alarms"

  tags = local.tags
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email != "" ? 1 : 0

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode(local.dashboard)
}

# Readers behind: the oldest record a GetRecords returned, over every reader
# of the stream (the Lambda mapping and Firehose).
resource "aws_cloudwatch_metric_alarm" "stream_iterator_age" {
  alarm_name          = "${var.name}-stream-iterator-age"
  alarm_description   = "A reader of ${var.stream_name} is more than ${var.iterator_age_threshold_ms} ms behind for 5 minutes."
  namespace           = "AWS/Kinesis"
  metric_name         = "GetRecords.IteratorAgeMilliseconds"
  dimensions          = { StreamName = var.stream_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.iterator_age_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = local.tags
}

# The producers put faster than the stream takes (they retry, so this is lag
# and cost before it is loss).
resource "aws_cloudwatch_metric_alarm" "write_throttles" {
  alarm_name          = "${var.name}-write-throttles"
  alarm_description   = "Puts to ${var.stream_name} are throttled in 2 of 3 five-minute periods."
  namespace           = "AWS/Kinesis"
  metric_name         = "WriteProvisionedThroughputExceeded"
  dimensions          = { StreamName = var.stream_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  alarm_name          = "${var.name}-lambda-errors"
  alarm_description   = "${var.function_name} failed an invocation (bad event, state mismatch, crash or timeout)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "lambda_duration" {
  alarm_name          = "${var.name}-lambda-duration"
  alarm_description   = "${var.function_name} ran longer than ${var.lambda_duration_threshold_ms} ms in 2 of 3 five-minute periods (near its timeout)."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.lambda_duration_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "lambda_iterator_age" {
  alarm_name          = "${var.name}-lambda-iterator-age"
  alarm_description   = "${var.function_name} is more than ${var.iterator_age_threshold_ms} ms behind the stream for 5 minutes."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.iterator_age_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = local.tags
}

# DeliveryToS3.Success is the share of successful PutObjects (1 = all).
resource "aws_cloudwatch_metric_alarm" "firehose_delivery" {
  alarm_name          = "${var.name}-firehose-delivery"
  alarm_description   = "${var.firehose_name} failed to deliver to S3 in 2 of 3 five-minute periods (it retries, then writes to errors/)."
  namespace           = "AWS/Firehose"
  metric_name         = "DeliveryToS3.Success"
  dimensions          = { DeliveryStreamName = var.firehose_name }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "firehose_freshness" {
  alarm_name          = "${var.name}-firehose-freshness"
  alarm_description   = "${var.firehose_name} holds a record older than ${var.firehose_freshness_threshold_seconds} s not yet in S3."
  namespace           = "AWS/Firehose"
  metric_name         = "DeliveryToS3.DataFreshness"
  dimensions          = { DeliveryStreamName = var.firehose_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.firehose_freshness_threshold_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = local.tags
}

# Read and write throttle events of each table, added up.
resource "aws_cloudwatch_metric_alarm" "dynamodb_throttles" {
  for_each = toset(var.table_names)

  alarm_name          = "${var.name}-dynamodb-throttles-${each.key}"
  alarm_description   = "DynamoDB throttled requests to ${each.key}."
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  metric_query {
    id          = "throttles"
    expression  = "FILL(reads, 0) + FILL(writes, 0)"
    label       = "Throttle events"
    return_data = true
  }

  metric_query {
    id = "reads"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "ReadThrottleEvents"
      dimensions  = { TableName = each.key }
      stat        = "Sum"
      period      = 300
    }
  }

  metric_query {
    id = "writes"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "WriteThrottleEvents"
      dimensions  = { TableName = each.key }
      stat        = "Sum"
      period      = 300
    }
  }

  tags = local.tags
}

# The consumer's own metrics, over every shard (a Metrics Insights query):
# a poisoned record is one the engine or the decoder refused; Lambda retries
# it until the mapping's limits send its batch to the failure queue.
resource "aws_cloudwatch_metric_alarm" "consumer_poisoned" {
  alarm_name          = "${var.name}-consumer-poisoned"
  alarm_description   = "The consumer met records it cannot apply (Poisoned > 0 in the ${local.ns} namespace)."
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  metric_query {
    id          = "poisoned"
    expression  = "SELECT SUM(Poisoned) FROM SCHEMA(\"${local.ns}\", Shard)"
    period      = 300
    label       = "Poisoned records"
    return_data = true
  }

  tags = local.tags
}

# A message in the failure queue is a batch the mapping gave up on.
resource "aws_cloudwatch_metric_alarm" "failure_queue" {
  count = var.failure_queue_name == null ? 0 : 1

  alarm_name          = "${var.name}-consumer-failed-batches"
  alarm_description   = "The event source mapping gave up on a batch: its description is in ${coalesce(var.failure_queue_name, "-")}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = var.failure_queue_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = local.tags
}
