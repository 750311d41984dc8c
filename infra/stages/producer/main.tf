module "producer" {
  source = "../../modules/producer"

  name               = var.name
  stream_name        = data.terraform_remote_state.streaming.outputs.stream_name
  stream_arn         = data.terraform_remote_state.streaming.outputs.stream_arn
  stream_kms_key_arn = data.terraform_remote_state.streaming.outputs.stream_kms_key_arn
  vpc_id             = data.terraform_remote_state.network.outputs.vpc_id
  subnet_ids         = data.terraform_remote_state.network.outputs.private_subnet_ids

  image_tag        = var.image_tag
  image            = var.image
  desired_count    = var.desired_count
  cpu              = var.cpu
  memory           = var.memory
  cpu_architecture = var.cpu_architecture
  rate             = var.rate
  duration_seconds = var.duration_seconds
  symbols          = var.symbols
  extra_args       = var.extra_args
  force_delete     = var.force_destroy
}
