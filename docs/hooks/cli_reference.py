"""mkdocs hook: the per-command reference of ``docs/cli.md``, generated from the argparse parser.

The marker ``<!-- cli-reference -->`` in a page is replaced by one section per subcommand:
its one-line help, its usage and a table of every visible option (flags, value, default,
meaning), so the reference cannot drift from the code.
"""

from __future__ import annotations

import argparse

MARKER = "<!-- cli-reference -->"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def reference() -> str:
    from tnrnn.cli import COMMANDS, build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parts = []
    for name in COMMANDS:
        sub = action.choices[name]
        usage = " ".join(sub.format_usage().split())
        parts += [f"### `tnrnn {name}`", "", _cell(sub.description or ""), "", "```text", usage, "```", "",
                  "| option | value | default | meaning |", "|---|---|---|---|"]
        for option in sub._actions:
            if option.help == argparse.SUPPRESS or isinstance(option, argparse._HelpAction):
                continue
            flags = ", ".join(f"`{flag}`" for flag in option.option_strings) or f"`{option.metavar or option.dest}`"
            if option.nargs == 0:
                value = ""
            else:
                metavar = option.metavar or (option.dest.upper() if option.option_strings else option.dest)
                value = f"`{metavar}`" + (" ..." if option.nargs in ("+", "*") else "")
                if option.choices:
                    value = " \\| ".join(f"`{c}`" for c in option.choices)
            default = "required" if option.required else (
                "" if option.default in (None, False, argparse.SUPPRESS) else f"`{_cell(option.default)}`")
            parts.append(f"| {flags} | {value} | {default} | {_cell(option.help or '')} |")
        parts.append("")
    return "\n".join(parts)


def on_page_markdown(markdown: str, **kwargs) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, reference())
    return markdown
