"""Field types that accept exactly what their JSON Schema says, no more.

pydantic's lax mode coerces: ``false`` becomes 0, ``"5"`` becomes 5, ``1`` becomes ``True``.
An API that documents ``integer`` and then accepts ``false`` lies in its OpenAPI document (and
``schemathesis --checks all`` says so). Strict mode goes too far the other way for integers:
JSON Schema counts ``22.0`` as an integer, strict pydantic refuses it.

- :data:`JsonFloat`: a finite JSON number (no NaN, no Infinity); not a bool, not a string.
  Bounds on top: ``Annotated[JsonFloat, Field(ge=0, le=1)]``.
- integers: ``Annotated[int, Field(ge=0, le=23), NumberOnly]``, a JSON number with no
  fractional part (``22`` or ``22.0``), not a bool, not a string. ``NumberOnly`` goes *after*
  the bounds, so that they stay in the JSON Schema as ``minimum``/``maximum``.
- :data:`JsonBool`: ``true`` or ``false`` only.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, Strict


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a number")
    return value


#: Refuse booleans and strings before pydantic's lax int conversion sees them.
NumberOnly = BeforeValidator(_number)
JsonFloat = Annotated[float, Strict(), Field(allow_inf_nan=False)]
JsonBool = Annotated[bool, Strict()]
