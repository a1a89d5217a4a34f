"""The example objects of the original client's documentation, verbatim (and the live page's).

`tests/test_compat_docs.py` checks that `dtmf.DTMF` returns exactly these; the
shared fixtures in conftest.py build their valid bodies from them.
"""

from __future__ import annotations

import json
from typing import Any

DOC_GROUP: dict[str, Any] = {
    "id": "cz-mobile",
    "type": "mobile",
    "name": "Czech Republic",
    "country_code": "cz",
    "sms_support": True,
    "voice_support": False,
    "setup_cost": 32093,
    "rental_cost_per_minute": 269,
    "cost_per_inbound_message": 601,
    "cost_per_inbound_call_minute": None,
}
DOC_MESSAGE: dict[str, Any] = {
    "from": "+1234567890",
    "to": "+1234",
    "content": "abc",
    "timestamp": "2018-01-01T01:01:02.000000",
    "success": True,
    "cost": 1000,
}
DOC_NUMBER: dict[str, Any] = {
    "e164": "+1234567890",
    "group_id": "us-mobile",
    "sms": True,
    "cost_per_minute": 13,
    "cost_per_inbound_message": 705,
    "assignment_start": "2018-01-01T01:01:01.000000",
    "sms_forwarded_to": None,
    "messages": [DOC_MESSAGE],
}

# Verbatim from /work/shared/spec/dtmf-io-live-api-notes.md (the service's later shape).
LIVE_NUMBER = json.loads(
    """
{
  "id": 1234,
  "e164": "+441234567890",
  "identifier": "",
  "group_id": "gb-mobile",
  "sms": true,
  "voice": true,
  "cost_per_month": "2.50",
  "cost_per_inbound_message": "0.01",
  "assignment_start": "2018-12-22T16:07:25.049383",
  "next_renewal": "2019-02-22T16:07:25.049383",
  "sms_forwarded_to": null,
  "calls": [
    {
      "id": 4567,
      "other_number": "+1234567890",
      "inbound": true,
      "start_timestamp": "2019-01-22T16:07:25.049383",
      "duration": 60,
      "status": "completed"
    }
  ],
  "messages": [
    {
      "id": 8901,
      "other_number": "+1234567890",
      "inbound": false,
      "content": "message content",
      "timestamp": "",
      "status": "delivered"
    }
  ]
}
"""
)
