"""Creates the template's infrastructure in moto and resolves references to it.

moto's CloudFormation makes the tables, buckets and queues; what it skips (table TTL, bucket
notifications) is applied here from the same template, so the two never drift.
"""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from aperture.core.aws import client

from .template import DISTRIBUTION, Template

ACCOUNT_ID = "123456789012"
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class ProvisionError(RuntimeError):
    pass


class Stack:
    """A created stack: physical ids and attributes of its resources, and its parameters."""

    def __init__(self, template: Template, name: str, region: str, account_id: str = ACCOUNT_ID) -> None:
        self.template = template
        self.name = name
        self.region = region
        self.account_id = account_id
        self.physical_ids: dict[str, str] = {}

    # ---------------------------------------------------------------- creation
    def create(self) -> Stack:
        cloudformation = client("cloudformation")
        try:
            cloudformation.create_stack(
                StackName=self.name,
                TemplateBody=json.dumps(self.template.infrastructure()),
                Parameters=[
                    {"ParameterKey": key, "ParameterValue": value}
                    for key, value in self.template.parameters.items()
                ],
            )
            cloudformation.get_waiter("stack_create_complete").wait(
                StackName=self.name, WaiterConfig={"Delay": 1, "MaxAttempts": 300}
            )
        except (ClientError, WaiterError) as error:
            raise ProvisionError(f"CloudFormation could not create stack {self.name}: {error}") from error
        resources = cloudformation.describe_stack_resources(StackName=self.name)["StackResources"]
        self.physical_ids = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
        self._enable_time_to_live()
        self._configure_bucket_notifications()
        self._create_distributions()
        self._configure_bucket_cors()  # its origin may be the distribution's
        return self

    def delete(self) -> None:
        """Deletes the stack and the distributions made beside it (disabled first, as CloudFront asks)."""
        cloudfront = client("cloudfront")
        for logical_id in self.template.resource_properties(DISTRIBUTION):
            distribution_id = self.physical_ids[logical_id]
            current = cloudfront.get_distribution_config(Id=distribution_id)
            disabled = cloudfront.update_distribution(
                Id=distribution_id,
                IfMatch=current["ETag"],
                DistributionConfig={**current["DistributionConfig"], "Enabled": False},
            )
            cloudfront.delete_distribution(Id=distribution_id, IfMatch=disabled["ETag"])
        client("cloudformation").delete_stack(StackName=self.name)

    def _create_distributions(self) -> None:
        """CloudFront distributions, made through moto's CloudFront API (its CloudFormation skips them).

        They stand in for invalidations only: the local stack serves media from S3 directly."""
        for logical_id in self.template.resource_properties(DISTRIBUTION):
            config = {
                "CallerReference": f"{self.name}-{logical_id}",
                "Comment": f"local stand-in for {logical_id}",
                "Enabled": True,
                "Origins": {"Quantity": 1, "Items": [{"Id": "origin", "DomainName": "origin.local"}]},
                "DefaultCacheBehavior": {"TargetOriginId": "origin", "ViewerProtocolPolicy": "allow-all"},
            }
            created = client("cloudfront").create_distribution(DistributionConfig=config)
            self.physical_ids[logical_id] = created["Distribution"]["Id"]

    def _enable_time_to_live(self) -> None:
        for logical_id, props in self.template.resource_properties("AWS::DynamoDB::Table").items():
            spec = props.get("TimeToLiveSpecification")
            if spec and spec.get("Enabled"):
                client("dynamodb").update_time_to_live(
                    TableName=self.physical_ids[logical_id],
                    TimeToLiveSpecification={"AttributeName": spec["AttributeName"], "Enabled": True},
                )

    def _configure_bucket_notifications(self) -> None:
        for logical_id, props in self.template.resource_properties("AWS::S3::Bucket").items():
            queues = props.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
            if not queues:
                continue
            configurations = []
            for queue in queues:
                configuration: dict[str, Any] = {
                    "QueueArn": self.resolve(queue["Queue"]),
                    "Events": [queue["Event"]],
                }
                if "Filter" in queue:
                    rules = queue["Filter"]["S3Key"]["Rules"]
                    configuration["Filter"] = {"Key": {"FilterRules": rules}}
                configurations.append(configuration)
            client("s3").put_bucket_notification_configuration(
                Bucket=self.physical_ids[logical_id],
                NotificationConfiguration={"QueueConfigurations": configurations},
            )

    def _configure_bucket_cors(self) -> None:
        """The browser's view of a bucket (the web client's presigned POST): moto's CloudFormation
        skips CorsConfiguration, moto's S3 honours it."""
        for logical_id, props in self.template.resource_properties("AWS::S3::Bucket").items():
            if "CorsConfiguration" in props:
                rules = self.resolve(props["CorsConfiguration"]["CorsRules"])
                client("s3").put_bucket_cors(
                    Bucket=self.physical_ids[logical_id],
                    CORSConfiguration={"CORSRules": [_cors_rule(rule) for rule in rules]},
                )

    # ---------------------------------------------------------------- names and attributes
    def function_name(self, logical_id: str) -> str:
        return f"{self.name}-{logical_id}"

    def function_arn(self, logical_id: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name(logical_id)}"

    def _type(self, logical_id: str) -> str:
        resource = self.template.resources.get(logical_id)
        if resource is None:
            raise ProvisionError(f"the template has no resource {logical_id}")
        return str(resource["Type"])

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::StackName": self.name,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template.parameters:
            return self.template.parameters[name]
        if self._type(name) == "AWS::Serverless::Function":
            return self.function_name(name)
        if name not in self.physical_ids:
            raise ProvisionError(f"{name} ({self._type(name)}) is not emulated locally")
        return self.physical_ids[name]

    def get_att(self, logical_id: str, attribute: str) -> str:
        return _attribute(self, logical_id, attribute)

    # ---------------------------------------------------------------- intrinsic functions
    def condition(self, name: str) -> bool:
        return bool(self._evaluate(self.template.document["Conditions"][name]))

    def _evaluate(self, expression: Any) -> Any:
        """A condition's value: Equals, Not, And, Or and Condition over parameters."""
        if isinstance(expression, dict) and len(expression) == 1:
            ((function, argument),) = expression.items()
            if function == "Fn::Equals":
                left, right = (self.resolve(side) for side in argument)
                return str(left) == str(right)
            if function == "Fn::Not":
                return not self._evaluate(argument[0])
            if function == "Fn::And":
                return all(self._evaluate(part) for part in argument)
            if function == "Fn::Or":
                return any(self._evaluate(part) for part in argument)
            if function == "Condition":
                return self.condition(argument)
        return self.resolve(expression)

    def resolve(self, value: Any) -> Any:
        """The value of a template expression: Ref, GetAtt, Sub, Join and If over this stack."""
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self.ref(argument)
            if function == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(logical_id, attribute)
            if function == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                return self._substitute(text, {k: self.resolve(v) for k, v in variables.items()})
            if function == "Fn::Join":
                separator, parts = argument
                return separator.join(str(self.resolve(part)) for part in parts)
            if function == "Fn::If":
                name, when_true, when_false = argument
                return self.resolve(when_true if self.condition(name) else when_false)
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def _substitute(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(name)

        return _SUB_VARIABLE.sub(replace, text)


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A template CORS rule in S3's API's words."""
    names = {"MaxAge": "MaxAgeSeconds", "ExposedHeaders": "ExposeHeaders"}
    return {names.get(key, key): value for key, value in rule.items() if key != "Id"}


def _attribute(stack: Stack, logical_id: str, attribute: str) -> str:
    kind = stack._type(logical_id)
    if kind == "AWS::Serverless::Function" and attribute == "Arn":
        return stack.function_arn(logical_id)
    physical = stack.ref(logical_id)
    if kind == "AWS::SQS::Queue":
        if attribute == "Arn":
            return str(
                client("sqs").get_queue_attributes(QueueUrl=physical, AttributeNames=["QueueArn"])[
                    "Attributes"
                ]["QueueArn"]
            )
        if attribute == "QueueName":
            return physical.rstrip("/").rsplit("/", 1)[-1]
        if attribute == "QueueUrl":
            return physical
    if kind == "AWS::DynamoDB::Table" and attribute in ("Arn", "StreamArn"):
        table = client("dynamodb").describe_table(TableName=physical)["Table"]
        return str(table["TableArn"] if attribute == "Arn" else table["LatestStreamArn"])
    if kind == "AWS::S3::Bucket" and attribute == "Arn":
        return f"arn:aws:s3:::{physical}"
    if kind == "AWS::IAM::Role" and attribute == "Arn":
        return str(client("iam").get_role(RoleName=physical)["Role"]["Arn"])
    if kind == "AWS::SNS::Topic" and attribute == "TopicArn":
        return physical
    if kind == DISTRIBUTION and attribute == "DomainName":
        return str(client("cloudfront").get_distribution(Id=physical)["Distribution"]["DomainName"])
    raise ProvisionError(f"GetAtt {logical_id}.{attribute} ({kind}) is not emulated locally")
