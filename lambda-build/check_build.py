"""Checks that `sam build` produced what Lambda (python3.13, arm64) should run, and prints what it found.

    python3.13 lambda-build/check_build.py [.aws-sam/build]

Fails (exit 1) unless, for every function and layer of the built template:
- every `.so` is an ARM aarch64 ELF object (`file` says so);
- every `.py` has its `__pycache__/<name>.cpython-313.pyc`, written by Python 3.13 (magic number) as an
  unchecked-hash .pyc (used as it is: no source mtime check, nothing to rewrite on a read-only /var/task, /opt);
- no artifact holds tests (`tests/`, `conftest.py`), caches (`.pytest_cache`, `.ruff_cache`, ...), a `.pyc`
  outside `__pycache__` or for another Python, or console scripts (`bin/`);
- a function holds its handler module and nothing else, the shared layer exactly the git-tracked files of
  `layers/shared/python` (no untracked or stray file).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

IMPORT_TAG = "cpython-313"
REPO = Path(__file__).resolve().parent.parent
CACHE_DIRS = {".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis", ".git", ".venv"}
TEST_DIRS = {"tests", "test"}
# Python 3.13's .pyc magic; compared only when this script itself runs on 3.13.
MAGIC_313 = importlib.util.MAGIC_NUMBER if sys.version_info[:2] == (3, 13) else None


@dataclass
class Report:
    name: str
    kind: str
    modules: int = 0
    pycs: int = 0
    shared_objects: int = 0
    size: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(text)


def _template_resources() -> dict[str, tuple[str, str]]:
    """logical id -> (type, CodeUri/ContentUri in the source template), read from template.yaml without YAML.

    The built template points at the built folders; the source template tells where each came from. Only the
    three lines that matter are read, so this runs on a bare Python 3.13 (no PyYAML).
    """
    resources: dict[str, tuple[str, str]] = {}
    current: str | None = None
    kind = ""
    for line in (REPO / "template.yaml").read_text(encoding="utf-8").splitlines():
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            current, kind = line.strip()[:-1], ""
        elif current and line.startswith("    Type: "):
            kind = line.split(":", 1)[1].strip()
        elif current and kind in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion"):
            stripped = line.strip()
            if stripped.startswith(("CodeUri:", "ContentUri:")):
                resources[current] = (kind, stripped.split(":", 1)[1].strip().strip("\"'"))
    return resources


def _git_tracked(folder: Path) -> set[Path] | None:
    """The files of `folder` git tracks; outside a checkout, its files without caches and bytecode (as
    lambda-build/stage.py copies them there)."""
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(folder), "ls-files", "-z", "--cached", "--", "."],  # noqa: S607 - git from PATH
            check=True, capture_output=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        if not folder.is_dir():
            return None
        return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and p.suffix not in (".pyc", ".pyo")
                and not set(p.relative_to(folder).parts[:-1]) & (CACHE_DIRS | TEST_DIRS | {"__pycache__"})}
    return {Path(n) for n in out.decode().split("\0") if n and (folder / n).is_file()}


def _file_types(paths: list[Path]) -> dict[Path, str]:
    if not paths:
        return {}
    if shutil.which("file") is None:
        raise SystemExit("check_build: the `file` command is missing (apt-get install file)")
    out = subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["file", "--brief", *map(str, paths)], check=True, capture_output=True, text=True,  # noqa: S607
    ).stdout.splitlines()  # fmt: skip
    return dict(zip(paths, out, strict=True))


def _check_pyc(report: Report, source: Path, root: Path) -> None:
    pyc = source.parent / "__pycache__" / f"{source.stem}.{IMPORT_TAG}.pyc"
    shown = source.relative_to(root)
    if not pyc.is_file():
        report.problem(f"no {IMPORT_TAG} bytecode for {shown}")
        return
    header = pyc.read_bytes()[:16]
    if MAGIC_313 is not None and header[:4] != MAGIC_313:
        report.problem(f"{pyc.relative_to(root)} was not written by Python 3.13")
    flags = int.from_bytes(header[4:8], "little")
    if flags != 0b01:  # bit 0: hash-based; bit 1 (check_source) clear: unchecked
        kind = "timestamp" if flags == 0 else "checked-hash"
        report.problem(f"{pyc.relative_to(root)} is a {kind} .pyc, not unchecked-hash")


def check_artifact(build_dir: Path, logical_id: str, kind: str, source_uri: str) -> Report:
    root = build_dir / logical_id
    is_layer = kind.endswith("LayerVersion")
    report = Report(logical_id, "layer" if is_layer else "function")
    if not root.is_dir():
        report.problem(f"not built: {root} is missing")
        return report
    files = sorted(p for p in root.rglob("*") if p.is_file())
    report.size = sum(p.stat().st_size for p in files)
    shared_objects: list[Path] = []
    for path in files:
        relative = path.relative_to(root)
        parts = set(relative.parts[:-1])
        if parts & CACHE_DIRS:
            report.problem(f"cache shipped: {relative}")
        elif parts & TEST_DIRS or path.name == "conftest.py":
            report.problem(f"tests shipped: {relative}")
        elif relative.parts[:2] == ("python", "bin") or relative.parts[:1] == ("bin",):
            report.problem(f"console script shipped: {relative}")
        elif path.suffix == ".pyc":
            report.pycs += 1
            if path.parent.name != "__pycache__":
                report.problem(f".pyc outside __pycache__: {relative}")
            elif f".{IMPORT_TAG}." not in path.name:
                report.problem(f"bytecode for another Python: {relative}")
            elif not (path.parent.parent / f"{path.name.split('.', 1)[0]}.py").is_file():
                report.problem(f"bytecode without its source: {relative}")
        elif path.suffix == ".py":
            report.modules += 1
            _check_pyc(report, path, root)
        elif path.suffix == ".so" or ".so." in path.name:
            shared_objects.append(path)
    for path, description in _file_types(shared_objects).items():
        report.shared_objects += 1
        if "ARM aarch64" not in description:
            report.problem(f"not an aarch64 binary: {path.relative_to(root)} ({description})")

    # What the folder may hold besides bytecode.
    shipped = {p.relative_to(root) for p in files if "__pycache__" not in p.parts}
    if not is_layer:
        expected = _git_tracked(REPO / source_uri)
        if expected is not None and shipped != expected:
            for extra in sorted(shipped - expected):
                report.problem(f"stray file (not a tracked file of {source_uri}): {extra}")
            for missing in sorted(expected - shipped):
                report.problem(f"missing tracked file of {source_uri}: {missing}")
    elif (REPO / source_uri / "python").is_dir():  # a layer built from source (the shared package)
        tracked = _git_tracked(REPO / source_uri / "python")
        expected = {Path("python") / p for p in tracked} if tracked is not None else None
        if expected is not None and shipped != expected:
            for extra in sorted(shipped - expected):
                report.problem(f"stray file (not tracked in {source_uri}python): {extra}")
            for missing in sorted(expected - shipped):
                report.problem(f"missing tracked file of {source_uri}python: {missing}")
    else:  # third-party layer: everything under python/
        for outside in sorted(p for p in shipped if p.parts[0] != "python"):
            report.problem(f"outside python/ (not on sys.path in Lambda): {outside}")
    return report


def main(argv: list[str]) -> int:
    build_dir = Path(argv[0] if argv else ".aws-sam/build")
    if not (build_dir / "template.yaml").is_file():
        print(f"check_build: {build_dir} holds no built template; run `make build` first", file=sys.stderr)
        return 1
    resources = _template_resources()
    reports = [check_artifact(build_dir, lid, kind, uri) for lid, (kind, uri) in sorted(resources.items())]
    print(f"build check of {build_dir} (python3.13, arm64):")
    print(f"  {'artifact':28} {'kind':8} {'.py':>5} {'.pyc':>5} {'.so':>4} {'size':>9}  result")
    for r in reports:
        result = "ok" if not r.problems else f"{len(r.problems)} problem(s)"
        print(f"  {r.name:28} {r.kind:8} {r.modules:5} {r.pycs:5} {r.shared_objects:4} "
              f"{r.size / 1e6:7.2f}MB  {result}")  # fmt: skip
    problems = [(r.name, p) for r in reports for p in r.problems]
    for name, text in problems[:50]:
        print(f"  FAIL {name}: {text}")
    if len(problems) > 50:
        print(f"  ... and {len(problems) - 50} more")
    total_py = sum(r.modules for r in reports)
    total_so = sum(r.shared_objects for r in reports)
    if problems:
        print(f"build check FAILED: {len(problems)} problem(s)")
        return 1
    print(f"build check passed: {total_py} modules with cpython-313 unchecked-hash bytecode, "
          f"{total_so} aarch64 shared object(s), no tests, caches or stray files")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
