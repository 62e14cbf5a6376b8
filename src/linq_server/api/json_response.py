"""The JSON response every route and error answers with."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse as StarletteJSONResponse


class JSONResponse(StarletteJSONResponse):
    """JSON as pure ASCII (non-ASCII text as ``\\uXXXX`` escapes).

    Rendering then cannot fail on any Python string, even one holding a lone surrogate (Starlette's
    UTF-8 encoding would raise), so a response is never lost after its work was committed.
    """

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")
