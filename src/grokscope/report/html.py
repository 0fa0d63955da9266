"""The self-contained HTML report: one file, data embedded as JSON, script and style inlined.

No CDN, no font, no request of any kind: the page opens by double-click, offline, in any
browser, and can be mailed or attached to a paper's supplement as it is (the convention of
self-contained reports, research/next.md §7). The drawing code is grokscope's own small SVG
plotter (`assets/report.js`), so no plotting library is embedded and the file stays small.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from importlib import resources
from pathlib import Path
from typing import Any

from grokscope.store.atomic import write_text_atomic
from grokscope.store.run_dir import finite_json

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "  # no request, ever
       "script-src '{script_hash}'")  # the page's own script, by its hash: no other runs
NOSCRIPT = "This report draws its tables and curves with JavaScript; enable it to see them."
TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<div id="app"><noscript>{noscript}</noscript></div>
<script type="application/json" id="grokscope-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""


def _asset(name: str) -> str:
    return resources.files("grokscope.report").joinpath("assets", name).read_text()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers; anything else as its text."""
    if hasattr(value, "item"):
        item = value.item()
        return finite_json(item)
    return str(value)


def render(payload: dict[str, Any], refresh: float | None = None) -> str:
    """The page of a payload (`report.run_page`, `sweep.page`, `reproduce.page`); with
    `refresh` (seconds) the page reloads itself, for `grokscope watch`."""
    import grokscope

    data = {**payload, "generated": time.strftime("%Y-%m-%d %H:%M:%S"),
            "version": grokscope.__version__, "refresh": refresh}
    blob = json.dumps(finite_json(data), allow_nan=False, separators=(",", ":"),
                      default=_plain)
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return TEMPLATE.format(title=_escape(str(payload.get("title", "grokscope report"))),
                           csp=CSP.format(script_hash=f"sha256-{digest}"), noscript=NOSCRIPT,
                           style=_asset("report.css"), script=script, data=embed_json(blob))


def embed_json(blob: str) -> str:
    """JSON text made safe inside `<script type="application/json">`: `<`, `>` and `&` as
    JSON escapes (`\\u003c`...), so no stored string can close the block, open a comment
    (`<!--`, which would swallow the rest of the page) or start a tag; the parsed value is
    unchanged."""
    return blob.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def write_page(payload: dict[str, Any], path: Path, refresh: float | None = None) -> Path:
    """Write the page atomically: a browser reloading it mid-write sees the old or the new."""
    write_text_atomic(path, render(payload, refresh))
    return path
