"""Stages Lambda artifacts for `sam build` (lambda-build/Makefile): a clean copy of a source folder, then bytecode.

    python3.13 lambda-build/stage.py copy SOURCE_DIR DEST_DIR   # the git-tracked files of SOURCE_DIR only
    python3.13 lambda-build/stage.py compile DIR                # unchecked-hash .pyc for every .py, or fail

`copy` never takes what git does not track (a work tree's __pycache__, .pytest_cache, scratch files): it lists
SOURCE_DIR with `git ls-files` and names each untracked file it leaves out, so a module that was never added
shows up here instead of as an ImportError in Lambda. Outside a git checkout (a source tarball) it copies the
folder without caches and compiled files.

`compile` must run on Python 3.13, the Lambda runtime: a .pyc is only used by the interpreter version that wrote
it (`__pycache__/<module>.cpython-313.pyc`). Unchecked-hash .pyc are used without looking at the source's mtime
(zip archives keep mtimes to 2 s, so timestamp .pyc would be stale and recompiled on every cold start, in memory,
because /var/task and /opt are read-only).
"""

from __future__ import annotations

import compileall
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

RUNTIME = (3, 13)
# Never shipped, whatever git says.
EXCLUDED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", "tests"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}


def _excluded(relative: Path) -> bool:
    return any(part in EXCLUDED_DIRS for part in relative.parts[:-1]) or relative.suffix in EXCLUDED_SUFFIXES


def _git_files(source: Path) -> tuple[list[Path], list[Path]] | None:
    """(tracked files that exist, untracked files not ignored) under `source`, or None outside a checkout."""

    def ls(*args: str) -> list[Path]:
        out = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(source), "ls-files", "-z", *args, "--", "."],  # noqa: S607 - git from PATH
            check=True, capture_output=True,
        ).stdout  # fmt: skip
        return [Path(name) for name in out.decode().split("\0") if name]

    try:
        tracked = ls("--cached")
        untracked = ls("--others", "--exclude-standard")
    except (OSError, subprocess.CalledProcessError):
        return None
    return [p for p in tracked if (source / p).is_file()], untracked


def copy(source: Path, dest: Path) -> int:
    if not source.is_dir():
        print(f"stage: {source} is not a folder", file=sys.stderr)
        return 1
    listed = _git_files(source)
    if listed is None:
        files = [p.relative_to(source) for p in sorted(source.rglob("*")) if p.is_file()]
        untracked: list[Path] = []
    else:
        files, untracked = listed
    for name in untracked:
        if not _excluded(name):
            print(f"stage: not shipped, untracked by git: {source / name}", file=sys.stderr)
    copied = 0
    for relative in sorted(files):
        if _excluded(relative):
            continue
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / relative, target)
        copied += 1
    print(f"stage: {copied} files from {source} -> {dest}")
    return 0


def compile_tree(folder: Path) -> int:
    if sys.version_info[:2] != RUNTIME:
        print(f"stage: compile needs Python {RUNTIME[0]}.{RUNTIME[1]} (the Lambda runtime), this is "
              f"{sys.version.split()[0]} ({sys.executable})", file=sys.stderr)  # fmt: skip
        return 1
    ok = compileall.compile_dir(
        str(folder), quiet=1, force=True, workers=1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )  # fmt: skip
    count = sum(1 for _ in folder.rglob("*.py"))
    if not ok:
        print(f"stage: some of the {count} modules under {folder} do not compile", file=sys.stderr)
        return 1
    print(f"stage: {count} modules compiled (cpython-313, unchecked-hash) under {folder}")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "copy":
        return copy(Path(argv[1]).resolve(), Path(argv[2]))
    if len(argv) == 2 and argv[0] == "compile":
        return compile_tree(Path(argv[1]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
