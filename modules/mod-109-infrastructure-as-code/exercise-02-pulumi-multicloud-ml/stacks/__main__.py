"""The Pulumi program (`pulumi up` runs this): the spec comes from the stack's config."""

from pulumiml.program import platform_program

platform_program()
