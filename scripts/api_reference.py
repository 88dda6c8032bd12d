"""Write the endpoint reference of docs/api.md from the console's OpenAPI schema, so the docs cannot drift from it.

    .venv/bin/python scripts/api_reference.py           # rewrite the part between the markers
    .venv/bin/python scripts/api_reference.py --check   # exit 1 if docs/api.md is not what the schema gives

The schema is the one ``GET /api/v1/openapi.json`` serves: ``takedown.console.api.api_schema`` over the API routes
of a console built by ``create_app``. tests/test_console_api.py checks that the committed page matches.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

START = "<!-- api-reference:start: written by scripts/api_reference.py from the OpenAPI schema; do not edit -->"
END = "<!-- api-reference:end -->"
PAGE = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def console_schema() -> dict[str, Any]:
    """The REST API's OpenAPI schema, from a console built as ``takedown console`` builds it (no store is opened)."""
    from takedown.console.api import api_schema
    from takedown.console.app import create_app
    from takedown.settings import Settings

    return api_schema(create_app(Settings()))


def _cell(text: str) -> str:
    """``text`` on one line, safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _type(schema: dict[str, Any]) -> str:
    """A JSON schema as a short type: ``string``, ``list of NoticeSummary``, ``Delivery or null``."""
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[-1]}`"
    if "anyOf" in schema:
        return " or ".join(_type(option) for option in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of string to {_type(schema['additionalProperties'])}"
    if "enum" in schema:
        return " or ".join(f"`{value}`" for value in schema["enum"])
    return f"{kind} ({schema['format']})" if "format" in schema else str(kind)


def _answers(operation: dict[str, Any]) -> str:
    parts = []
    for status, response in sorted(operation["responses"].items()):
        content = response.get("content", {})
        shown = [_type(c["schema"]) for c in content.values() if "schema" in c] or [f"`{m}`" for m in content]
        parts.append(f"{status}: {', '.join(dict.fromkeys(shown))}" if shown else status)
    return "; ".join(parts)


def render(schema: dict[str, Any]) -> str:
    """The reference: a table of every endpoint, each endpoint's parameters and answers, and every schema's fields."""
    operations = [(path, method, operation) for path, ops in schema["paths"].items()
                  for method, operation in ops.items()]
    lines = [f"Generated from the OpenAPI schema of {schema['info']['title']} {schema['info']['version']} "
             f"(OpenAPI {schema['openapi']}). Every endpoint needs a bearer token "
             "(`Authorization: Bearer td_...`).", "",
             "| method | path | roles | what it does |", "|---|---|---|---|"]
    for path, method, operation in operations:
        lines.append(f"| `{method.upper()}` | `{path}` | {', '.join(operation.get('x-roles', []))} | "
                     f"{_cell(operation['summary'])} |")
    for path, method, operation in operations:
        lines += ["", f"### `{method.upper()} {path}`", "", operation.get("description", operation["summary"]), ""]
        parameters = operation.get("parameters", [])
        if parameters:
            lines += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
            for p in parameters:
                default = p["schema"].get("default")
                described = p.get("description", p["schema"].get("description", ""))
                if default is not None:
                    described = f"{described} (default {default})".strip()
                bounds = [f"{word} {p['schema'][key]}" for key, word in (("minimum", "at least"),
                                                                          ("maximum", "at most")) if key in p["schema"]]
                if bounds:
                    described = f"{described}; {', '.join(bounds)}".strip("; ")
                lines.append(f"| `{p['name']}` | {p['in']} | {_cell(_type(p['schema']))} | "
                             f"{'yes' if p.get('required') else 'no'} | {_cell(described)} |")
            lines.append("")
        body = operation.get("requestBody")
        if body:
            lines += [f"Body (JSON): {_type(body['content']['application/json']['schema'])}.", ""]
        lines.append(f"Answers: {_answers(operation)}.")
    lines += ["", "### Schemas"]
    for name, model in sorted(schema["components"]["schemas"].items()):
        lines += ["", f"#### `{name}`", ""]
        if model.get("description"):
            lines += [_cell(model["description"]), ""]
        if "enum" in model:
            lines.append("One of " + ", ".join(f"`{value}`" for value in model["enum"]) + ".")
            continue
        required = set(model.get("required", []))
        lines += ["| field | type | required | description |", "|---|---|---|---|"]
        for field, spec in model.get("properties", {}).items():
            lines.append(f"| `{field}` | {_cell(_type(spec))} | {'yes' if field in required else 'no'} | "
                         f"{_cell(spec.get('description', ''))} |")
    return "\n".join(lines) + "\n"


def updated(page: str, schema: dict[str, Any]) -> str:
    """``page`` with the part between the markers replaced by the reference ``schema`` gives.

    Raises:
        ValueError: the page lacks the markers.
    """
    head, start, rest = page.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"the page needs the markers {START!r} and {END!r}")
    return f"{head}{START}\n{render(schema)}{END}{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check that docs/api.md is up to date")
    parser.add_argument("--page", type=Path, default=PAGE)
    args = parser.parse_args()
    page = args.page.read_text(encoding="utf-8")
    wanted = updated(page, console_schema())
    if args.check:
        if wanted != page:
            print(f"{args.page} is out of date: run scripts/api_reference.py", file=sys.stderr)
            sys.exit(1)
        return
    if wanted != page:
        args.page.write_text(wanted, encoding="utf-8")
        print(f"wrote {args.page}")


if __name__ == "__main__":
    main()
