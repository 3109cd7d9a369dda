"""What the operator commands share: which stack they act on (local or AWS) and its resources."""

from __future__ import annotations

import argparse

from aperture.core.aws import client
from aperture_local.stack import use_endpoint


def stack_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--stack-name", default="aperture-local")
    parser.add_argument(
        "--endpoint",
        default="http://127.0.0.1:5000",
        help="an AWS-compatible endpoint (the local stack's moto server); empty for AWS itself",
    )
    return parser


def physical_id(arguments: argparse.Namespace, logical_id: str) -> str:
    """The named resource of the chosen stack, with this process's clients pointed at it."""
    if arguments.endpoint:
        use_endpoint(arguments.endpoint)
    resource = client("cloudformation").describe_stack_resource(
        StackName=arguments.stack_name, LogicalResourceId=logical_id
    )
    return str(resource["StackResourceDetail"]["PhysicalResourceId"])
