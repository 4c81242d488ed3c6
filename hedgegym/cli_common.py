"""What every ``hedgegym`` command module shares: the console and the one way to fail on bad input.

Kept apart from ``hedgegym.cli`` so that command groups in their own modules (``hedgegym.cli_book``) use the same
console without importing the main app (no import cycle).
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["console", "fail"]

console = Console(width=120) if not Console().is_terminal else Console()


def fail(message: object, code: int = 2) -> typer.Exit:
    """Print ``message`` (escaped: brackets in user input are text, not rich markup) in red, unwrapped (a path in it
    stays whole); the Exit to raise."""
    console.print(f"[red]{escape(str(message))}[/red]", soft_wrap=True)
    return typer.Exit(code=code)
