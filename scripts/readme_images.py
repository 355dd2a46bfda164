"""Write the README's pictures: a letter page and a board-pack page, rendered to small PNGs.

    .venv/bin/python scripts/readme_images.py

Loads the demo department into a temporary database, writes a director's letter and the
board pack for the demo's latest round as PDFs, and renders each first page with pdftoppm
(Debian's poppler-utils) to docs/images/letter.png and docs/images/boardpack.png, each kept
under 200 KB. The date on the documents is fixed so the pictures only change when the
documents do.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kim_metrics.domain.access import local_admin  # noqa: E402
from kim_metrics.services.documents import boardpack_pdf, directorate_letter  # noqa: E402
from kim_metrics.storage.engine import make_engine  # noqa: E402
from kim_metrics.services.demo import SAMPLE_DIRECTORATE, SAMPLE_ROUND, load_demo  # noqa: E402
from kim_metrics.storage.schema import ensure_schema  # noqa: E402

OUT = ROOT / "docs" / "images"
WRITTEN = date(2026, 9, 15)
MAX_BYTES = 200_000


def render(pdf: bytes, target: Path, work: Path) -> Path:
    """The PDF's first page as a PNG at the highest resolution (from 60 dpi down) under 200 KB."""
    source = work / f"{target.stem}.pdf"
    source.write_bytes(pdf)
    for dpi in (60, 50, 40):
        stem = work / f"{target.stem}-{dpi}"
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile",
                        str(source), str(stem)], check=True, timeout=120)
        png = stem.with_suffix(".png")
        if png.stat().st_size <= MAX_BYTES:
            shutil.copyfile(png, target)
            return target
    raise SystemExit(f"{target.name} is over {MAX_BYTES} bytes even at 40 dpi")


def main() -> int:
    if shutil.which("pdftoppm") is None:
        print("pdftoppm is missing: apt-get install poppler-utils", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        engine = make_engine(f"sqlite:///{work / 'kim.db'}")
        ensure_schema(engine)
        load_demo(engine)
        letter = directorate_letter(engine, SAMPLE_ROUND, SAMPLE_DIRECTORATE, fmt="pdf", written=WRITTEN, actor=local_admin())
        pack = boardpack_pdf(engine, SAMPLE_ROUND, written=WRITTEN, actor=local_admin())
        engine.dispose()
        for name, pdf in (("letter.png", letter), ("boardpack.png", pack)):
            path = render(pdf, OUT / name, work)
            print(f"Wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
