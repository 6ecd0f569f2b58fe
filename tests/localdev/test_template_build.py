"""The build support (lambda-build/) and the secret scan (.ci/scan_secrets.py), on small trees made here.

No `sam build` runs here: `make build && make check-build` does that in CI. These check that the staging copies
git-tracked files only and compiles them the way Lambda can use, that the build check fails on what it must
refuse, and that the scanner finds and redacts tokens and the stand-in's secrets.
"""

from __future__ import annotations

import importlib.util
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


stage = load(REPO / "lambda-build" / "stage.py", "lambda_build_stage")
check_build = load(REPO / "lambda-build" / "check_build.py", "lambda_build_check")
scan_secrets = load(REPO / ".ci" / "scan_secrets.py", "ci_scan_secrets")
needs_313 = pytest.mark.skipif(sys.version_info[:2] != (3, 13), reason="bytecode for Lambda is written by 3.13")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                   capture_output=True)  # fmt: skip


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A git checkout with a tracked package, an untracked module, a work-tree __pycache__ and pytest's cache."""
    repo = tmp_path / "repo"
    package = repo / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text("VALUE = 1\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "x")
    (package / "scratch.py").write_text("raise RuntimeError('never shipped')\n")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "mod.cpython-313.pyc").write_bytes(b"stale")
    (repo / ".pytest_cache").mkdir()
    (repo / ".pytest_cache" / "README.md").write_text("cache")
    return repo


def test_copy_takes_the_tracked_files_only(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    dest = tmp_path / "out"
    assert stage.copy(source, dest) == 0
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == [
        "pkg/__init__.py", "pkg/mod.py",
    ]  # fmt: skip
    assert "pkg/scratch.py" in capsys.readouterr().err  # named, so a forgotten `git add` shows


@needs_313
def test_compile_writes_unchecked_hash_bytecode_for_313(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("X = 1\n")
    assert stage.compile_tree(tmp_path) == 0
    pyc = (tmp_path / "__pycache__" / "m.cpython-313.pyc").read_bytes()
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, source not checked


@needs_313
def test_compile_fails_on_a_module_that_does_not_compile(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def (:\n")
    assert stage.compile_tree(tmp_path) == 1


def built_tree(tmp_path: Path) -> Path:
    """A built artifact as the check expects it: a function and the shared layer, both from git-tracked files."""
    build = tmp_path / "build"
    build.mkdir()
    (build / "template.yaml").write_text("built")
    function = build / "FeedbackFunction"
    shutil.copytree(REPO / "functions" / "feedback", function, ignore=shutil.ignore_patterns("__pycache__"))
    layer = build / "SharedLayer" / "python"
    shutil.copytree(REPO / "layers" / "shared" / "python", layer,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))  # fmt: skip
    for py in build.rglob("*.py"):
        py_compile.compile(str(py), invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return build


def problems(build: Path, logical_id: str, kind: str, uri: str) -> list[str]:
    return check_build.check_artifact(build, logical_id, kind, uri).problems


@needs_313
def test_build_check_passes_a_clean_artifact(tmp_path: Path) -> None:
    build = built_tree(tmp_path)
    assert problems(build, "FeedbackFunction", "AWS::Serverless::Function", "functions/feedback/") == []
    assert problems(build, "SharedLayer", "AWS::Serverless::LayerVersion", "layers/shared/") == []


@needs_313
def test_build_check_refuses_stray_files_caches_tests_and_stale_bytecode(tmp_path: Path) -> None:
    build = built_tree(tmp_path)
    function = build / "FeedbackFunction"
    (function / "notes.txt").write_text("x")
    (function / "tests").mkdir()
    (function / "tests" / "test_x.py").write_text("")
    py_compile.compile(str(function / "app.py"))  # a timestamp .pyc replaces the unchecked-hash one
    (build / "SharedLayer" / "python" / ".pytest_cache").mkdir()
    (build / "SharedLayer" / "python" / ".pytest_cache" / "v").write_text("")
    found = problems(build, "FeedbackFunction", "AWS::Serverless::Function", "functions/feedback/")
    assert any("stray file" in p and "notes.txt" in p for p in found)
    assert any("tests shipped" in p for p in found)
    assert any("timestamp .pyc" in p for p in found)
    layer = problems(build, "SharedLayer", "AWS::Serverless::LayerVersion", "layers/shared/")
    assert any("cache shipped" in p for p in layer)


@pytest.mark.skipif(shutil.which("file") is None, reason="needs the `file` command")
def test_build_check_refuses_a_binary_for_another_architecture(tmp_path: Path) -> None:
    layer = tmp_path / "build" / "DepsLayer" / "python"
    layer.mkdir(parents=True)
    shutil.copy(sys.executable, layer / "native.cpython-313-x86_64-linux-gnu.so")  # this machine's ELF
    found = problems(tmp_path / "build", "DepsLayer", "AWS::Serverless::LayerVersion", "layers/deps/")
    machine = subprocess.run(["uname", "-m"], capture_output=True, text=True, check=True).stdout.strip()
    assert (machine == "aarch64") != any("not an aarch64 binary" in p for p in found)


# ---------------------------------------------------------------------------------------------------- secrets


def test_scanner_reads_the_stand_in_secrets_from_its_defaults() -> None:
    assert {"local-signing-secret", "local-client-secret"} <= set(scan_secrets.standin_secrets())


def test_scanner_reports_file_and_line_redacted(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "session.log").write_text("fine\nAuthorization: Bearer xoxb-123-456-abcdef\nsig local-signing-secret\n")
    (logs / "other.log").write_text("refresh xoxe-1-abc rotated xoxe.xoxp-9-zz\n")
    assert scan_secrets.main([str(logs)]) == 1
    out = capsys.readouterr().out
    assert f"{logs / 'session.log'}:2:" in out and f"{logs / 'session.log'}:3:" in out
    assert f"{logs / 'other.log'}:1:" in out
    assert "abcdef" not in out and "local-signing-secret" not in out and "xoxe-1-abc" not in out
    assert "xoxb-[REDACTED]" in out


def test_scanner_passes_clean_logs_and_refuses_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "clean.log").write_text("nothing to see: token=[REDACTED]\n")
    assert scan_secrets.main([str(tmp_path / "clean.log")]) == 0
    assert scan_secrets.main([str(tmp_path / "missing")]) == 2
