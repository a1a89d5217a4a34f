"""The SDK's logging, and `DTMF_LOG` for programs that configure none.

Every call logs through ``logging.getLogger("dtmf")``:

- DEBUG, one line per request: method, path, status (or the transport error),
  elapsed milliseconds and the retry number;
- INFO, one line per retry: the call, why it is retried and how long it waits.

The token never appears: not the Authorization header, not the token itself.
Nothing is formatted unless the level is on (lazy ``%`` arguments, and
``isEnabledFor`` around anything costlier).

A program that sets up logging (``logging.basicConfig(level=logging.DEBUG)``)
gets these lines through its own handlers. For one that does not, the
environment variable ``DTMF_LOG=debug`` (or ``info``, ``warning``, ``error``)
adds a handler writing to stderr when ``dtmf`` is imported. When it is unset,
importing ``dtmf`` adds no handler and changes no level.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

__all__ = ["ENV_VAR", "LEVELS", "LOGGER_NAME", "configure_from_env"]

LOGGER_NAME = "dtmf"
ENV_VAR = "DTMF_LOG"
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _EnvHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stderr handler DTMF_LOG adds (a class of its own, so it is added only once)."""


def configure_from_env(environ: Mapping[str, str] | None = None) -> logging.Handler | None:
    """Add a stderr handler to the "dtmf" logger if DTMF_LOG asks for one; return it.

    Called once when `dtmf` is imported; reads the environment only.
    """
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip().lower()
    if not value:
        return None
    logger = logging.getLogger(LOGGER_NAME)
    if any(isinstance(handler, _EnvHandler) for handler in logger.handlers):
        return None
    handler = _EnvHandler()  # stderr
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    level = LEVELS.get(value)
    logger.setLevel(logging.WARNING if level is None else level)
    if level is None:
        logger.warning(
            "%s=%r is not one of %s: logging warnings only", ENV_VAR, value, ", ".join(LEVELS)
        )
    return handler
