"""schemathesis hooks for fuzzing the reference server: strategies for the custom formats.

The OpenAPI document marks with a format what no JSON Schema keyword states (an SMS's
length once rendered to ASCII, a webhook URL with a host); these strategies generate
valid values of them, checked by the SDK's own checks, so that schemathesis's positive
cases are valid. Loaded through `hooks` in tests/schemathesis.toml.
"""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

from dtmf._validate import MAX_SMS_LENGTH, check_webhook_url, render_sms
from dtmf.testing._openapi import SMS_CONTENT_FORMAT, WEBHOOK_URL_FORMAT


def _fits(text: str) -> bool:
    return 0 < len(render_sms(text)) <= MAX_SMS_LENGTH


def _valid_url(url: str) -> bool:
    try:
        check_webhook_url(url)
    except ValueError:
        return False
    return True


# Any text but lone surrogates (JSON over UTF-8 cannot carry them), as long as its
# rendering is one SMS: non-ASCII and control characters included.
SMS_CONTENT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=MAX_SMS_LENGTH
).filter(_fits)

_HOST = r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z]{2,6}){0,2}(:[1-9][0-9]{0,3})?"
_PATH = r"(/[A-Za-z0-9._~%-]{0,12}){0,3}(\?[a-z]{1,5}=[a-z0-9]{0,5})?"
WEBHOOK_URL = st.builds(
    "{}://{}{}".format,
    st.sampled_from(["http", "https", "HTTPS"]),
    st.from_regex(_HOST, fullmatch=True),
    st.from_regex(_PATH, fullmatch=True),
).filter(_valid_url)

schemathesis.openapi.format(SMS_CONTENT_FORMAT, SMS_CONTENT)
schemathesis.openapi.format(WEBHOOK_URL_FORMAT, WEBHOOK_URL)
