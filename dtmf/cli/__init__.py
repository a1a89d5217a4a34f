"""The `dtmf` command line: the SDK's everyday operations from a shell.

A thin layer over `dtmf.Client` (`pip install 'dtmf-io[cli]'` adds click and
rich); run ``dtmf --help``. Importing `dtmf` never imports this package.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `dtmf` command with `argv` (default: sys.argv[1:]); returns the exit code."""
    try:
        import click  # noqa: F401  # pyright: ignore[reportUnusedImport]
        import rich  # noqa: F401  # pyright: ignore[reportUnusedImport]
    except ImportError as exc:
        print(
            f"dtmf: the command line needs {exc.name or 'click and rich'}: "
            "pip install 'dtmf-io[cli]'",
            file=sys.stderr,
        )
        return 1
    from ._app import run

    return run(argv)
