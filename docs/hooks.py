"""MkDocs hook: the config reference page gets its tables from the pydantic models at build time
(``hedgegym.config_reference``), so the documentation cannot drift from what the loader accepts."""

from __future__ import annotations


def on_page_markdown(markdown: str, page, **_kwargs) -> str:
    if page.file.src_uri == "config-reference.md":
        from hedgegym.config_reference import config_reference_markdown

        return markdown + "\n" + config_reference_markdown()
    return markdown
