"""Rebuild the sample solution zips from their sources: `python scripts/build_solutions.py build solutions/`.

Every `solutions/src/<package>/` folder becomes `solutions/<package>.zip`, byte-for-byte reproducible (sorted
entries, fixed timestamps); each zip is checked with the reader the product uses (solution_import/package.py).
"""
from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from solution_import.package import PackageError, parse  # noqa: E402

_FIXED_TIME = (2026, 1, 1, 0, 0, 0)


def build_package(source: Path) -> bytes:
    """Zip one package folder reproducibly (sorted entries, fixed timestamps)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def build_all(solutions_dir: Path) -> list[Path]:
    """Rebuild `<dir>/<name>.zip` from every `<dir>/src/<name>/`; check each parses."""
    written = []
    for source in sorted(p for p in (solutions_dir / "src").iterdir() if p.is_dir()):
        data = build_package(source)
        parse(data)
        target = solutions_dir / f"{source.name}.zip"
        target.write_bytes(data)
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "build":
        print("usage: python scripts/build_solutions.py build SOLUTIONS_DIR", file=sys.stderr)
        return 2
    try:
        for path in build_all(Path(argv[1])):
            print(path)
    except (OSError, PackageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
