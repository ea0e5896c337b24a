"""Errors of the infrastructure-as-code helpers."""

from __future__ import annotations

from aiinfra_shared.errors import AiinfraError


class IacError(AiinfraError):
    """A Terraform, HCL or checkov problem, worded for the user."""
