"""Text that reaches a folium page, made safe for the two places it lands.

1. The server. folium (through branca) renders each element's script and then compiles that
   output once more as a Jinja template (``Element(script(...))`` in ``MacroElement.render``):
   a name holding ``{{ ... }}`` or ``{% ... %}`` would be executed on the server. So no Jinja
   delimiter may survive in anything we hand to folium: :func:`tojson` escapes braces, ``%``
   and ``#`` inside JSON strings (``\\u007b`` ...), :func:`html_text` turns braces into entities.
2. The browser. Leaflet's layer control and folium's GeoJson tooltips and popups use
   ``innerHTML``: :func:`html_text` escapes text for it (entities display as the characters).

Our own templates use :class:`Template`, whose ``tojson`` filter is :func:`tojson`.
"""
from __future__ import annotations

import html
import json
import re

from folium.template import Environment
from folium.template import Template as FoliumTemplate
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_IN_STRING = str.maketrans({"{": "\\u007b", "}": "\\u007d", "%": "\\u0025", "#": "\\u0023"})


def html_text(value: str) -> str:
    """``value`` escaped for innerHTML, with braces as entities (no Jinja delimiter left)."""
    return html.escape(value).replace("{", "&#123;").replace("}", "&#125;")


def tojson(obj) -> Markup:
    """JSON safe inside ``<script>`` (``< > & '`` escaped) holding no Jinja delimiter.

    Outside strings JSON never has ``{{``, ``{%`` or ``{#`` (an object starts ``{"`` or
    ``{}``), so escaping inside strings is enough.

    >>> str(tojson({"name": "{{ 7*7 }} <b>"}))
    '{"name": "\\\\u007b\\\\u007b 7*7 \\\\u007d\\\\u007d \\\\u003cb\\\\u003e"}'
    """
    text = htmlsafe_json_dumps(obj, dumps=json.dumps)
    return Markup(_JSON_STRING.sub(lambda m: m.group(0).translate(_IN_STRING), text))


class SafeEnvironment(Environment):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["tojson"] = tojson


class Template(FoliumTemplate):
    """folium's template class with the safe ``tojson``."""

    environment_class = SafeEnvironment
