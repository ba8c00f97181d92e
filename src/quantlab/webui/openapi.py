"""Write the API's OpenAPI document to a file, for the web client's generated types.

``python -m quantlab.webui.openapi web/openapi.json`` builds the app object (no server, no
database) and dumps ``app.openapi()`` deterministically: same code, same bytes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of an application built with development defaults."""
    from quantlab.api.app import create_app
    from quantlab.platform.settings import Settings

    settings = Settings(_env_file=None, env="development")  # type: ignore[call-arg]
    return create_app(settings).openapi()


def main(argv: list[str]) -> int:
    """Dump the document to ``argv[0]`` (default ``web/openapi.json``)."""
    target = Path(argv[0] if argv else "web/openapi.json")
    text = json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
