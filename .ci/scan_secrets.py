"""Fails when test-session logs hold a Slack token or one of the local Slack stand-in's secrets.

    python3 .ci/scan_secrets.py PATH [PATH ...]     (files, or folders scanned recursively)

Looks for Slack token prefixes (`xoxb-` bot, `xoxp-` user, `xoxe-` refresh and rotating tokens, which also
covers `xoxe.xoxb-...`) and for the stand-in's default secrets, read from the defaults of
`localdev/slack_standin.py` (every parameter named `*_secret` with a string default), so a secret renamed there is
still looked for. Every hit is printed as `file:line: <line with the secret redacted>`; the exit status is 1 on
any hit, 2 when a path does not exist or nothing could be read, 0 otherwise.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STANDIN = REPO / "localdev" / "slack_standin.py"
TOKEN_PREFIXES = ("xoxb-", "xoxp-", "xoxe-")
# What follows a prefix in a token, redacted with it.
TOKEN_TAIL = r"[A-Za-z0-9._-]*"


def standin_secrets(path: Path = STANDIN) -> list[str]:
    """String defaults of the stand-in's `*_secret` parameters (e.g. `local-signing-secret`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults, strict=True))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None]
        for arg, default in pairs:
            value = default.value if isinstance(default, ast.Constant) else None
            if arg.arg.endswith("_secret") and isinstance(value, str) and value:
                found.add(value)
    return sorted(found)


def pattern(secrets: list[str]) -> re.Pattern[str]:
    tokens = "|".join(re.escape(p) + TOKEN_TAIL for p in TOKEN_PREFIXES)
    literals = "|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True))
    return re.compile(f"(?:{tokens}|{literals})" if literals else f"(?:{tokens})")


def redact(line: str, matcher: re.Pattern[str]) -> str:
    def label(match: re.Match[str]) -> str:
        text = match.group(0)
        prefix = next((p for p in TOKEN_PREFIXES if text.startswith(p)), None)
        return f"{prefix}[REDACTED]" if prefix else "[REDACTED stand-in secret]"

    return matcher.sub(label, line.rstrip("\n"))[:300]


def files_under(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return found


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    paths = [Path(a) for a in argv]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"scan_secrets: no such file or folder: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    matcher = pattern(standin_secrets())
    hits = 0
    files = files_under(paths)
    for file in files:
        try:
            with file.open(encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, start=1):
                    if matcher.search(line):
                        hits += 1
                        print(f"{file}:{number}: {redact(line, matcher)}")
        except OSError as exc:
            print(f"scan_secrets: cannot read {file}: {exc}", file=sys.stderr)
            return 2
    if hits:
        print(f"scan_secrets: {hits} line(s) with a Slack token or a stand-in secret in {len(files)} file(s)",
              file=sys.stderr)  # fmt: skip
        return 1
    print(f"scan_secrets: {len(files)} file(s) clean (looked for {', '.join(TOKEN_PREFIXES)} and "
          f"{len(standin_secrets())} stand-in secret(s))")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
