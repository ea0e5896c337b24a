"""Metadata filters of a query: typed, so a wrong type is refused instead of matching nothing.

A filter ``{"page": "3"}`` would compare the string ``"3"`` with the stored integer 3 and
silently return no chunk, and the answer would be "I don't know". :class:`Filters` is strict:
``page`` must be a JSON number with no fraction, ``kind`` one of the loaders' kinds, text
fields must be strings, unknown keys are refused.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aiinfra_shared.jsontypes import NumberOnly

Kind = Literal["pdf", "markdown", "html", "text"]


class Filters(BaseModel):
    """Exact matches on chunk metadata; every given key must match."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | None = Field(None, min_length=1, max_length=300, description="e.g. 'a.md'")
    kind: Kind | None = Field(None, description="The loader: pdf, markdown, html or text.")
    section: str | None = Field(None, min_length=1, max_length=300)
    page: Annotated[int, Field(ge=1, le=100_000), NumberOnly] | None = Field(
        None, description="PDF page, from 1."
    )
    doc_id: str | None = Field(None, min_length=1, max_length=64)

    def as_dict(self) -> dict[str, Any]:
        """The given keys only (what the retrievers take)."""
        return self.model_dump(exclude_none=True)
