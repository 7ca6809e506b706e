"""Write docs/cli.md from the commands' own --help (a test checks it is up to date).

Run: python scripts/make_cli_doc.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from refere.cli import cli  # noqa: E402

OUT = ROOT / "docs" / "cli.md"


def commands(group=cli, prefix=()):
    yield prefix, group
    for name, cmd in sorted(getattr(group, "commands", {}).items()):
        yield from commands(cmd, prefix + (name,))


def render() -> str:
    runner = CliRunner()
    parts = [
        "# Référence des commandes",
        "",
        "Cette page est produite à partir de l'aide des commandes (`python scripts/make_cli_doc.py`) ;",
        "un test vérifie qu'elle est à jour.",
        "",
    ]
    for path, _cmd in commands():
        res = runner.invoke(cli, [*path, "--help"], terminal_width=100)
        title = " ".join(("refere",) + path)
        parts += [f"## `{title}`", "", "```text", res.output.rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(OUT)
