"""The built site is complete: `python -m tests.docs_reference site` (run by `make docs`).

Reads the inventory the docs build writes (site/objects.inv: every documented object,
by dotted name and kind) and fails, listing what is missing, unless it holds every
public name of `dtmf`, `dtmf.testing` and `dtmf.webhooks`, the pytest fixtures, each
resource method as a method (with its signature), and each field of each model.
It also checks the PyPI description: every link absolute, and those into the docs
site (its `site_url`) naming a page of the built site.
"""

from __future__ import annotations

import re
import sys
import zlib
from pathlib import Path

import dtmf
import dtmf.testing
import dtmf.webhooks
from dtmf import _models, _resources
from dtmf._contract import OPERATIONS

ROOT = Path(__file__).resolve().parent.parent
CALLABLE_ROLES = {"py:method", "py:function"}
FIXTURES = ("dtmf_emulator", "dtmf_client", "dtmf_async_client")
# Documented as sharing the fields of `Number` and `Group` (see docs/reference/models.md).
FIELDS_SHOWN_ELSEWHERE = {"AsyncNumber", "AsyncGroup", "BaseNumber", "BaseGroup"}


def inventory(site: Path) -> dict[str, str]:
    """Documented object name -> its role (e.g. 'py:method'), from a Sphinx v2 inventory."""
    raw = (site / "objects.inv").read_bytes()
    header_end = 0
    for _ in range(4):  # four header lines, then the zlib-compressed body
        header_end = raw.index(b"\n", header_end) + 1
    roles: dict[str, str] = {}
    for line in zlib.decompress(raw[header_end:]).decode().splitlines():
        name, role, *_ = line.split(" ", 2)
        roles[name] = role
    return roles


def resource_methods() -> list[str]:
    """'dtmf._resources.NumbersResource.rent' and so on: each operation, on both clients."""
    names: list[str] = []
    for op in OPERATIONS:
        resource_name, method = op.name.split(".")
        for prefix in ("", "Async"):  # `client.numbers` is a NumbersResource, ...
            cls = getattr(_resources, f"{prefix}{resource_name.capitalize()}Resource")
            names.append(f"{cls.__module__}.{cls.__qualname__}.{method}")
    return names


def missing(roles: dict[str, str]) -> list[str]:
    problems: list[str] = []
    for module in (dtmf, dtmf.testing, dtmf.webhooks):
        for name in module.__all__:
            if f"{module.__name__}.{name}" not in roles:
                problems.append(f"{module.__name__}.{name}")
    for fixture in FIXTURES:
        if f"dtmf.testing.pytest_plugin.{fixture}" not in roles:
            problems.append(f"fixture {fixture}")
    for method in resource_methods():
        if roles.get(method) not in CALLABLE_ROLES:
            problems.append(f"{method} (as a method with its signature: {roles.get(method)})")
    for model_name in _models.__all__:
        model = getattr(_models, model_name)
        if model_name in FIELDS_SHOWN_ELSEWHERE or not hasattr(model, "model_fields"):
            continue
        for field in model.model_fields:
            if f"dtmf.{model_name}.{field}" not in roles:
                problems.append(f"dtmf.{model_name}.{field} (a field)")
    return problems


def pypi_link_problems(site: Path) -> list[str]:
    config = (ROOT / "mkdocs.yml").read_text()
    site_url = re.search(r"^site_url: (\S+)$", config, flags=re.M)
    assert site_url is not None, "mkdocs.yml has no site_url"
    description = (ROOT / "README.pypi.md").read_text()
    problems: list[str] = []
    for link in re.findall(r"\]\(([^)\s]+)\)", description):
        if not link.startswith(("https://", "http://")):
            problems.append(f"README.pypi.md: {link} is not absolute (PyPI cannot follow it)")
        elif link.startswith(site_url.group(1)):
            page = link.removeprefix(site_url.group(1)).split("#")[0]
            if not (site / page / "index.html").is_file():
                problems.append(f"README.pypi.md: {link} is no page of the site")
    return problems


def openapi_problems(site: Path) -> list[str]:
    """The site publishes the reference server's OpenAPI document, as generated now."""
    import json

    from dtmf.testing import openapi

    published = site / "openapi.json"
    if not published.is_file():
        return ["openapi.json (the mkdocs hook in docs/hooks.py writes it)"]
    if json.loads(published.read_text()) != openapi():
        return ["openapi.json equal to dtmf.testing.openapi() (rebuild the site)"]
    return []


def main(argv: list[str]) -> int:
    site = Path(argv[0] if argv else "site")
    problems = missing(inventory(site)) + pypi_link_problems(site) + openapi_problems(site)
    if problems:
        print(f"the site in {site} lacks:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print(f"API reference complete: {len(inventory(site))} objects in {site}/objects.inv")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
