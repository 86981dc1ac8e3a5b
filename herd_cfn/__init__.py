"""herd-cfn: OpenRemote on AWS Fargate as CloudFormation, rolled out with StackSets."""

__version__ = "0.1.0"
