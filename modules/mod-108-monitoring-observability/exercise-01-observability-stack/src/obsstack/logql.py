"""A LogQL subset, translated to SQL over the store's log table.

Grammar (what Loki's log queries start with)::

    query    := selector filter*
    selector := "{" matcher ("," matcher)* "}"
    matcher  := label ("=" | "!=" | "=~" | "!~") "string"
    filter   := ("|=" | "!=" | "|~" | "!~") "string"

Labels are ``service``, ``level``, ``logger``, ``trace_id``, ``span_id`` and any attribute a
record carries. Label regexes are fully anchored (as in Prometheus and Loki); line-filter
regexes match anywhere in the line. ``|= "text"`` is a case-sensitive substring match, served
by a trigram full-text index for needles of three characters or more.

Example:
    ``{service="ml-api", level=~"ERROR|WARNING"} |= "timeout" != "healthz"``
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from obsstack.errors import ObsstackError

COLUMNS = {"service", "level", "logger", "trace_id", "span_id"}
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|`[^`]*`)
      | (?P<op>\|=|!=|\|~|!~|=~|=)
      | (?P<punct>[{},])
      | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)


class LogQueryError(ObsstackError):
    """A log query that does not parse; the message says where and what was expected."""


@dataclass(frozen=True)
class Matcher:
    """One label matcher."""

    label: str
    op: str
    value: str


@dataclass(frozen=True)
class LineFilter:
    """One line filter."""

    op: str
    value: str


@dataclass
class LogQuery:
    """A parsed query: label matchers and line filters, in order."""

    matchers: list[Matcher] = field(default_factory=list)
    filters: list[LineFilter] = field(default_factory=list)

    def to_sql(self) -> tuple[str, list[str]]:
        """A SQL ``WHERE`` clause over table ``logs`` and its parameters."""
        clauses: list[str] = []
        params: list[str] = []
        for m in self.matchers:
            column = m.label if m.label in COLUMNS else "json_extract(attributes, ?)"
            column_params = [] if m.label in COLUMNS else [f'$."{m.label}"']
            value = f"coalesce({column}, '')"
            if m.op == "=":
                clauses.append(f"{value} = ?")
                params += [*column_params, m.value]
            elif m.op == "!=":
                clauses.append(f"{value} != ?")
                params += [*column_params, m.value]
            else:
                negate = "NOT " if m.op == "!~" else ""
                clauses.append(f"{negate}regexp(?, {value})")
                params += [f"^(?:{m.value})$", *column_params]
        for f in self.filters:
            if f.op == "|=":
                if len(f.value) >= 3:
                    clauses.append("logs.id IN (SELECT rowid FROM logs_fts WHERE logs_fts MATCH ?)")
                    params.append('"' + f.value.replace('"', '""') + '"')
                clauses.append("instr(body, ?) > 0")
                params.append(f.value)
            elif f.op == "!=":
                clauses.append("instr(body, ?) = 0")
                params.append(f.value)
            else:
                negate = "NOT " if f.op == "!~" else ""
                clauses.append(f"{negate}regexp(?, body)")
                params.append(f.value)
        return (" AND ".join(clauses) or "1"), params


def _unquote(token: str) -> str:
    if token.startswith("`"):
        return token[1:-1]
    return re.sub(
        r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), token[1:-1]
    )


def _check_regex(pattern: str, where: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise LogQueryError(f"invalid regular expression {pattern!r} in {where}: {exc}") from None


def parse(text: str) -> LogQuery:
    """Parse a log query.

    Raises:
        LogQueryError: Empty, malformed, an unknown operator, a bad regex, or no matcher.
    """
    if not text.strip():
        raise LogQueryError('empty log query; start with a selector such as {service="ml-api"}')
    if len(text) > 4000:
        raise LogQueryError("log query too long (over 4000 characters)")
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise LogQueryError(f"unexpected {text[pos : pos + 10].strip()!r} at position {pos}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()

    query = LogQuery()
    i = 0

    def expect(kind: str, value: str | None = None) -> str:
        nonlocal i
        if i >= len(tokens):
            want = value or kind
            raise LogQueryError(f"query ends early: expected {want}")
        k, v, at = tokens[i]
        if k != kind or (value is not None and v != value):
            raise LogQueryError(f"expected {value or kind} at position {at}, got {v!r}")
        i += 1
        return v

    expect("punct", "{")
    while True:
        label = expect("name")
        op = expect("op")
        if op not in {"=", "!=", "=~", "!~"}:
            raise LogQueryError(f"{op!r} is a line filter, not a label matcher (label {label})")
        value = _unquote(expect("string"))
        if op in {"=~", "!~"}:
            _check_regex(value, f"the matcher of {label}")
        query.matchers.append(Matcher(label, op, value))
        sep = expect("punct")
        if sep == "}":
            break
        if sep != ",":
            raise LogQueryError(f"expected ',' or '}}' after the matcher of {label}")
    if not any(m.op in {"=", "=~"} and m.value not in {"", ".*"} for m in query.matchers):
        raise LogQueryError(
            "a selector needs at least one label matcher that is not empty-compatible, "
            'e.g. {service="ml-api"}'
        )
    while i < len(tokens):
        op = expect("op")
        if op not in {"|=", "!=", "|~", "!~"}:
            raise LogQueryError(f"expected a line filter (|=, !=, |~, !~), got {op!r}")
        value = _unquote(expect("string"))
        if op in {"|~", "!~"}:
            _check_regex(value, "a line filter")
        query.filters.append(LineFilter(op, value))
    return query
