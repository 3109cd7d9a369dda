"""Reads ``template.yaml``: parameters, the functions with their events, and the infrastructure."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

FUNCTION = "AWS::Serverless::Function"
LAYER = "AWS::Serverless::LayerVersion"
DISTRIBUTION = "AWS::CloudFront::Distribution"  # created through moto's CloudFront API (provision.py)

# What moto's CloudFormation creates for us; functions and layers are ours to run.
PROVISIONED_BY_MOTO = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::IAM::Role",
        "AWS::KMS::Key",
    }
)


@dataclass(frozen=True)
class EventSource:
    name: str
    type: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    timeout: int
    memory_size: int
    environment: dict[str, Any]
    events: list[EventSource] = field(default_factory=list)
    image: bool = False  # a container image (built with Docker), not a zip on the domain layer

    @property
    def short_name(self) -> str:
        """The folder name (``media_router``): what developers type."""
        return self.code_uri.name


class Template:
    def __init__(
        self,
        path: Path,
        parameter_overrides: dict[str, str] | None = None,
        local_defaults: dict[str, str] | None = None,
    ) -> None:
        self.path = path.resolve()
        self.root = self.path.parent
        self.document: dict[str, Any] = cfn_yaml.load(str(self.path))
        self.resources: dict[str, Any] = self.document.get("Resources", {})
        self.parameters = self._parameters(parameter_overrides or {}, local_defaults or {})

    def _parameters(self, overrides: dict[str, str], local_defaults: dict[str, str]) -> dict[str, str]:
        """Overrides, else the local stack's defaults for parameters the template declares, else its own."""
        declared = self.document.get("Parameters", {})
        unknown = set(overrides) - set(declared)
        if unknown:
            raise ValueError(f"unknown template parameters: {', '.join(sorted(unknown))}")
        values = {}
        for name, spec in declared.items():
            value = overrides.get(name, local_defaults.get(name, spec.get("Default")))
            if value is None:
                raise ValueError(f"template parameter {name} has no default: pass a value")
            values[name] = str(value)
        return values

    def functions(self) -> list[FunctionSpec]:
        defaults = self.document.get("Globals", {}).get("Function", {})
        specs = []
        for logical_id, resource in self.resources.items():
            if resource.get("Type") != FUNCTION:
                continue
            props = resource.get("Properties", {})
            environment = {
                **defaults.get("Environment", {}).get("Variables", {}),
                **props.get("Environment", {}).get("Variables", {}),
            }
            events = [
                EventSource(name, event["Type"], event.get("Properties", {}))
                for name, event in props.get("Events", {}).items()
            ]
            code_uri, handler = self._code(resource)
            specs.append(
                FunctionSpec(
                    logical_id=logical_id,
                    code_uri=code_uri,
                    handler=handler,
                    timeout=int(props.get("Timeout", defaults.get("Timeout", 3))),
                    memory_size=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
                    environment=environment,
                    events=events,
                    image=props.get("PackageType") == "Image",
                )
            )
        return specs

    def _code(self, resource: dict[str, Any]) -> tuple[Path, str]:
        """Where a function's handler lives: its CodeUri, or for a container image the folder its
        Dockerfile copies in (``functions/<FUNCTION build argument>``) and the image's command."""
        props = resource.get("Properties", {})
        if props.get("PackageType") == "Image":
            metadata = resource["Metadata"]
            folder = (
                self.root
                / metadata.get("DockerContext", ".")
                / "functions"
                / metadata["DockerBuildArgs"]["FUNCTION"]
            )
            return folder.resolve(), props["ImageConfig"]["Command"][0]
        return (self.root / props["CodeUri"]).resolve(), props["Handler"]

    def layer_paths(self) -> list[Path]:
        """The folders of the template's layers: what a handler finds on ``sys.path`` in Lambda."""
        return [
            (self.root / resource["Properties"]["ContentUri"]).resolve()
            for resource in self.resources.values()
            if resource.get("Type") == LAYER
        ]

    def infrastructure(self) -> dict[str, Any]:
        """The template cut down to what moto's CloudFormation creates."""
        kept = {
            logical_id: copy.deepcopy(resource)
            for logical_id, resource in self.resources.items()
            if resource.get("Type") in PROVISIONED_BY_MOTO
        }
        for resource in kept.values():
            # Applied by provision.py, as moto's CloudFormation skips it (and cannot resolve the
            # CDN's domain that its rules name).
            resource.get("Properties", {}).pop("CorsConfiguration", None)
            depends = resource.get("DependsOn")
            if depends is not None:
                names = [depends] if isinstance(depends, str) else depends
                resource["DependsOn"] = [name for name in names if name in kept]
        return {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Parameters": self.document.get("Parameters", {}),
            "Resources": kept,
        }

    def not_emulated(self) -> list[str]:
        """Resources that neither moto nor the local stack stands in for."""
        ours = PROVISIONED_BY_MOTO | {FUNCTION, LAYER, DISTRIBUTION}
        return sorted(
            f"{logical_id} ({resource.get('Type')})"
            for logical_id, resource in self.resources.items()
            if resource.get("Type") not in ours
        )

    def resource_properties(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource.get("Properties", {})
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == resource_type
        }
