"""Reading rendered pages: folium writes text into scripts as JSON with \\uXXXX escapes."""
from __future__ import annotations

import re


def js_text(html: str) -> str:
    """``html`` with JSON \\uXXXX escapes decoded, so labels can be searched as written."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)


def overlay_names(html: str) -> list[str]:
    """Names of the overlays in the page's layer control."""
    block = re.search(r"overlays\s*:\s*\{(.*?)\}", js_text(html), re.S)
    return re.findall(r'"([^"]+)"\s*:', block.group(1)) if block else []
