"""The CloudFormation type of the construct's resource: what the construct writes and the drift check and
the integ snapshot's upgrade guard look for. Its own module, so that readers of templates need no CDK."""

RESOURCE_TYPE = "Custom::KinesisVideoStreamPoolRetention"
