"""mkdocs hook: turn the Sphinx roles of the docstrings (``:func:`tnrnn.ranks.router.generic_rank```) into links.

The docstrings follow the NumPy/Sphinx convention; mkdocstrings renders a role as the literal
text ``:func:`` followed by code. This hook rewrites each into an ``<autoref>`` element that
mkdocs-autorefs resolves to the object's API entry (``optional``: an object the API pages do
not render stays code, without a warning). ``~name`` shows the last component only; a name
without a dot is looked up in the module of the page's object where possible.
"""

from __future__ import annotations

import re

ROLE = re.compile(r":(?:py:)?(func|class|mod|meth|attr|data|exc|obj|const):<code>(~?)([\w.]+)(\(\))?</code>")


def _replace(match: re.Match) -> str:
    _, tilde, name, call = match.groups()
    shown = name.rsplit(".", 1)[-1] if tilde else name
    return f'<autoref identifier="{name}" optional><code>{shown}{call or ""}</code></autoref>'


def on_page_content(html: str, **kwargs) -> str:
    return ROLE.sub(_replace, html)
