"""Where a command's output goes: standard output, or the file ``-o`` names."""

from __future__ import annotations

import sys
from pathlib import Path

from kim_metrics.domain.errors import KimError, UsageError


def write_output(output: str | None, content: str | bytes, *,
                 file_needed: str = "This output needs a file: add -o FILE.") -> None:
    """Print ``content``, or write it to ``output`` and say so on stderr. Bytes (a workbook)
    need a file: without one, ``UsageError(file_needed)``."""
    if output in (None, "-"):
        if isinstance(content, bytes):
            raise UsageError(file_needed)
        sys.stdout.write(content if content.endswith("\n") else content + "\n")
        return
    path = Path(output)
    try:
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise KimError(f"Cannot write {output}: {exc.strerror}. Check the folder exists and you "
                       "can write to it.") from None
    print(f"Wrote {output}", file=sys.stderr)
