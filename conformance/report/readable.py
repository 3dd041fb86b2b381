"""A failure's minimal input made readable for the HTML report (issue 10 item 1): a JSON text
inside the input is shown decoded, and a base64 copy beside a field it duplicates is dropped.
``results.json`` keeps the input exactly as recorded; only the page shows this form.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

_B64_SUFFIX = "_b64"


def _decoded_json(text: str) -> Any:
    """The JSON object or array ``text`` holds, else ``text`` itself."""
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return text
    try:
        return readable_input(json.loads(stripped))
    except ValueError:
        return text


def _duplicates(data: Mapping[str, Any], key: str) -> bool:
    """True when ``key`` (``x_b64``) is the base64 of the text field ``x`` beside it."""
    plain = data.get(key[: -len(_B64_SUFFIX)])
    value = data.get(key)
    if not isinstance(plain, str) or not isinstance(value, str):
        return False
    try:
        return base64.b64decode(value, validate=True) == plain.encode("utf-8")
    except (binascii.Error, ValueError):
        return False


def readable_input(value: Any) -> Any:
    """``value`` with embedded JSON texts decoded and redundant base64 copies left out."""
    if isinstance(value, str):
        return _decoded_json(value)
    if isinstance(value, Mapping):
        if "external" in value:  # a pointer to a file of the report directory: as it is
            return value
        return {k: readable_input(v) for k, v in value.items()
                if not (k.endswith(_B64_SUFFIX) and _duplicates(value, k))}
    if isinstance(value, list):
        return [readable_input(v) for v in value]
    return value
