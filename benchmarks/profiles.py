"""Reading py-spy's collapsed stacks: where a run's samples went, by function."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:()]+?)(?::(?P<line>\d+))?\)$")
ROOT = str(Path(__file__).resolve().parent.parent) + "/"
PROJECT_MARKERS = ("kim_metrics/", "pages/", "dashboard.py")


def _short(frame: str) -> str:
    """'league (/work/main/kim_metrics/api.py:104)' -> 'kim_metrics/api.py:league'."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    if "site-packages/" in path:
        path = "lib:" + path[path.index("site-packages/") + len("site-packages/"):]
    elif path.startswith(ROOT):
        path = path[len(ROOT):]
    return f"{path}:{m.group('func')}"


def summarise_collapsed(text: str, top: int = 40) -> str:
    """Inclusive samples per function (each counted once per stack), the project's own
    functions first, then the library functions they call directly."""
    total = 0
    inclusive: Counter[str] = Counter()
    called_from_project: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";")]
        own[frames[-1]] += n
        for name in set(frames):
            inclusive[name] += n
        for parent, child in zip(frames, frames[1:]):
            if parent.startswith(PROJECT_MARKERS) and not child.startswith(PROJECT_MARKERS):
                called_from_project[f"{parent} -> {child}"] += n
    if not total:
        return "no samples\n"
    out = [f"{total} samples (py-spy, 250 Hz, busy threads only)", "",
           "The project's functions (inclusive share of samples):"]
    mine = [(k, v) for k, v in inclusive.most_common() if k.startswith(PROJECT_MARKERS)]
    out += [f"  {v / total:6.1%}  {k}" for k, v in mine[:top]]
    out += ["", "Library calls made by the project's code:"]
    out += [f"  {v / total:6.1%}  {k}" for k, v in called_from_project.most_common(top)]
    out += ["", "Other functions by inclusive share (the runner's scaffolding left out):"]
    scaffold = 0.9 * total
    other = [(k, v) for k, v in inclusive.most_common()
             if not k.startswith(PROJECT_MARKERS) and v < scaffold]
    out += [f"  {v / total:6.1%}  {k}" for k, v in other[:top]]
    out += ["", "Self time (the frame on top of the stack):"]
    out += [f"  {v / total:6.1%}  {k}" for k, v in own.most_common(top // 2)]
    return "\n".join(out) + "\n"
