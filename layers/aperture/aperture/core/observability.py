"""Powertools' Logger, Tracer and Metrics, configured the same way in every function."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "Aperture"


def powertools(service: str) -> tuple[Logger, Tracer, Metrics]:
    """The logger, tracer and metrics of one function, named after its concern."""
    return Logger(service=service), Tracer(service=service), Metrics(namespace=NAMESPACE, service=service)
