"""mkdocs hooks: publish the reference server's OpenAPI document with the site.

The document is generated from the wire contract (`dtmf.testing.openapi()`), never
committed: each build writes the current one as `openapi.json` at the site's root.
"""

from __future__ import annotations

import json
from typing import Any

from mkdocs.structure.files import File, Files


def on_files(files: Files, config: Any) -> Files:
    from dtmf.testing import openapi

    content = json.dumps(openapi(), indent=2, ensure_ascii=False) + "\n"
    files.append(File.generated(config, "openapi.json", content=content))
    return files
