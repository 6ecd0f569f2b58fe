"""Command safety: may running a recommended command change the cluster? (The message marks those that may.)

`PROGRAMS` is the one table of what we know about each program: its read-only verbs and subcommands, the
flags that take a value (so that `kubectl -n delete get pods` reads `get`), how `--dry-run` is treated, and
which programs only run another command (`sudo`, `watch`, `xargs`). `is_mutating` splits a line into simple
commands and walks the table for each; a program that is not in the table counts as changing the cluster.
Pure: no I/O, nothing is run.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

_NO_VALUES: frozenset[str] = frozenset()


class VerbRule(Enum):
    """Verbs whose effect depends on more than the verb itself."""

    # `kubectl exec pod -- cmd`: as harmful as `cmd`; without `--` (an interactive shell) it counts as harmful.
    RUNS_INNER_COMMAND = "runs_inner_command"
    # `kubectl cp src dst`: harmful when it copies into a pod (`ns/pod:/path` as the destination).
    COPIES_INTO_POD = "copies_into_pod"


@dataclass(frozen=True)
class VerbProgram:
    """A program whose verb (the first argument that is not a flag, or a later one) says what it does.

    - `verb_position`: which positional argument is the verb (`aws ec2 describe-instances`: 1); with fewer
      positionals (`kubectl`, `aws help`) nothing is run.
    - `read_only_verbs`, `read_only_prefixes`: verbs that only read. `read_only_subcommands`: verbs that
      only read with one of these subcommands (`rollout status`).
    - `value_flags`: flags whose value is the next argument, not a positional.
    - `dry_run`: whether `--dry-run` (other than `none`) makes any verb harmless.
    - `verb_rules`: verbs decided by `VerbRule` rather than by the verb alone.
    Every other verb, unknown ones included, changes something.
    """

    names: frozenset[str]
    read_only_verbs: frozenset[str] = _NO_VALUES
    read_only_prefixes: tuple[str, ...] = ()
    read_only_subcommands: Mapping[str, frozenset[str]] = field(default_factory=dict)
    value_flags: frozenset[str] = _NO_VALUES
    verb_position: int = 0
    dry_run: bool = False
    verb_rules: Mapping[str, VerbRule] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestProgram:
    """A program that sends a request (curl): harmful with a method outside `safe_methods` or a body."""

    names: frozenset[str]
    method_flags: frozenset[str]  # `-X POST`, `--request POST`, `--request=POST`, `-XPOST`
    safe_methods: frozenset[str]
    body_flags: frozenset[str]
    body_prefixes: tuple[str, ...]  # `--data-raw`, `-d@file`, ...


@dataclass(frozen=True)
class ReadOnlyProgram:
    """Programs that only read or filter: the usual tail of a diagnostic pipeline."""

    names: frozenset[str]


@dataclass(frozen=True)
class Wrapper:
    """Programs that run the rest of the line as another command; the wrapped command is what counts.

    `leading_positionals` are skipped before the flags (`timeout 30 kubectl ...`: the duration).
    """

    names: frozenset[str]
    value_flags: frozenset[str] = _NO_VALUES
    leading_positionals: int = 0


Program = VerbProgram | RequestProgram | ReadOnlyProgram | Wrapper

KUBECTL = VerbProgram(
    names=frozenset({"kubectl", "oc", "k"}),
    read_only_verbs=frozenset(
        {
            "get", "describe", "logs", "log", "top", "explain", "events", "api-resources", "api-versions",
            "cluster-info", "version", "diff", "wait", "kustomize", "completion", "options", "help",
            "port-forward", "proxy",
        }
    ),
    read_only_subcommands={
        "rollout": frozenset({"status", "history"}),
        "auth": frozenset({"can-i", "whoami"}),
        "config": frozenset({"view", "get-contexts", "get-clusters", "get-users", "current-context"}),
        "plugin": frozenset({"list"}),
        "apply": frozenset({"view-last-applied"}),
    },
    value_flags=frozenset(
        {
            "-n", "--namespace", "--context", "--cluster", "--user", "--kubeconfig", "-s", "--server", "--token",
            "--as", "--as-group", "--as-uid", "-v", "--v", "--request-timeout", "--certificate-authority",
            "--client-certificate", "--client-key", "--tls-server-name", "--cache-dir", "--log-file",
            "--profile", "--username", "--password", "-l", "--selector", "-o", "--output", "-c", "--container",
        }
    ),
    dry_run=True,
    verb_rules={"exec": VerbRule.RUNS_INNER_COMMAND, "cp": VerbRule.COPIES_INTO_POD},
)
HELM = VerbProgram(
    names=frozenset({"helm"}),
    read_only_verbs=frozenset(
        {
            "list", "ls", "status", "history", "hist", "get", "show", "inspect", "template", "search", "lint",
            "version", "env", "verify", "help", "completion", "diff",
        }
    ),
    read_only_subcommands={
        "repo": frozenset({"list", "ls"}),
        "dependency": frozenset({"list", "ls"}),
        "dep": frozenset({"list", "ls"}),
        "plugin": frozenset({"list", "ls"}),
    },
    value_flags=frozenset(
        {
            "-n", "--namespace", "--kube-context", "--kubeconfig", "--kube-apiserver", "--kube-as-user",
            "--kube-as-group", "--kube-token", "--kube-ca-file", "--registry-config", "--repository-cache",
            "--repository-config", "--burst-limit", "--qps",
        }
    ),
    dry_run=True,
)
AWS = VerbProgram(
    names=frozenset({"aws"}),
    # `aws <service> <operation>`: the operation decides.
    verb_position=1,
    read_only_prefixes=("describe-", "list-", "get-"),
    value_flags=frozenset({"--region", "--profile", "--output", "--endpoint-url", "--query"}),
)
CURL = RequestProgram(
    names=frozenset({"curl"}),
    method_flags=frozenset({"-X", "--request"}),
    safe_methods=frozenset({"GET", "HEAD"}),
    body_flags=frozenset({"-d", "-F", "-T", "--json", "--form", "--upload-file"}),
    body_prefixes=("--data", "-d"),
)
READ_ONLY = ReadOnlyProgram(
    names=frozenset(
        {
            "grep", "egrep", "fgrep", "rg", "jq", "yq", "head", "tail", "sort", "uniq", "wc", "awk", "sed", "cut",
            "tr", "cat", "less", "more", "echo", "printf", "column", "base64", "date", "dig", "nslookup", "host",
            "ping", "traceroute", "stern", "true", "sleep", "tee",
        }
    )
)  # fmt: skip
_WRAPPER_VALUE_FLAGS = frozenset({"-n", "-I", "-P", "-L", "-d", "-s", "-a", "-E", "-u", "-g", "-k", "-i"})
WRAPPERS = Wrapper(
    names=frozenset({"sudo", "env", "time", "nohup", "watch", "xargs", "nice"}), value_flags=_WRAPPER_VALUE_FLAGS
)
TIMEOUT = Wrapper(names=frozenset({"timeout"}), value_flags=_WRAPPER_VALUE_FLAGS, leading_positionals=1)

PROGRAMS: tuple[Program, ...] = (KUBECTL, HELM, AWS, CURL, READ_ONLY, WRAPPERS, TIMEOUT)
_BY_NAME: Mapping[str, Program] = {name: program for program in PROGRAMS for name in program.names}

_SEPARATOR = re.compile(r"^[|&;()]+$")
_SUBSTITUTION = re.compile(r"\$\((.*)\)|`([^`]*)`", re.DOTALL)
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_REDIRECTIONS = frozenset({">", ">>", "<", "2>", "&>", ">&", "2>>", "<<<"})  # followed by their target
_ATTACHED_REDIRECTION = re.compile(r"^\d*[<>]")  # `2>/dev/null`, `>out.txt`


def program_for(name: str) -> Program | None:
    """The table entry for a program (`/usr/local/bin/kubectl` is `kubectl`); None for one we do not know."""
    return _BY_NAME.get(posixpath.basename(name))


def is_mutating(command: str | None) -> bool:
    """Whether running `command` may change the cluster (so the message marks it).

    The command is split into simple commands at `|`, `||`, `&&`, `;`, `&` and newlines, and it mutates if
    any part does; `$(...)` and backticks are looked into too. Prefixes such as `sudo`, `watch`, `xargs` and
    `VAR=value` are looked through. Decisions per program (`PROGRAMS`):

    - kubectl (and `oc`, and the usual alias `k`): global flags may come before the verb
      (`kubectl -n x delete pod`). Reading verbs (get, describe, logs, top, explain, events, diff, wait,
      `auth can-i`, `rollout status|history`, ...) do not mutate; every other verb does, unknown ones
      included. `--dry-run=client|server` makes any verb harmless. `exec` mutates if the command it runs in
      the pod does; `cp` mutates when it copies into a pod.
    - helm: reading verbs (list, status, history, get, show, template, lint, ...) do not mutate; install,
      upgrade, rollback, uninstall and anything unknown do, unless `--dry-run`.
    - curl mutates only with a method other than GET/HEAD or a request body; `aws` only with an operation
      other than describe-/list-/get-.
    - Text filters and lookups (grep, jq, awk, head, dig, ...) do not.
    - Anything else, or a line that cannot be parsed, counts as mutating: a needless warning costs a second
      look, a missing one on a destructive command costs an outage.
    """
    if command is None or not command.strip():
        return False
    joined = command.replace("\\\r\n", " ").replace("\\\n", " ")
    return any(_line_mutates(line) for line in joined.splitlines() if line.strip())


def _line_mutates(line: str) -> bool:
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return True
    for token in tokens:
        for match in _SUBSTITUTION.finditer(token):
            if is_mutating(match.group(1) or match.group(2) or ""):
                return True
    segment: list[str] = []
    for token in [*tokens, ";"]:
        if _SEPARATOR.match(token):
            if segment and _simple_command_mutates(segment):
                return True
            segment = []
        else:
            segment.append(token)
    return False


def _simple_command_mutates(tokens: Sequence[str]) -> bool:
    tokens = _unwrap(_drop_redirections(tokens))
    if not tokens:
        return False
    program, args = program_for(tokens[0]), tokens[1:]
    if isinstance(program, VerbProgram):
        return _verb_program_mutates(program, args)
    if isinstance(program, RequestProgram):
        return _request_mutates(program, args)
    # Wrappers were looked through above, so a program named here is only read-only or unknown.
    return not isinstance(program, ReadOnlyProgram)


def _drop_redirections(tokens: Sequence[str]) -> list[str]:
    kept: list[str] = []
    skip_next = False
    for token in tokens:
        if skip_next:
            skip_next = False
            continue
        if token in _REDIRECTIONS:
            skip_next = True
            continue
        if _ATTACHED_REDIRECTION.match(token):
            continue
        kept.append(token)
    return kept


def _unwrap(tokens: list[str]) -> list[str]:
    """The command without leading `VAR=value` assignments and wrappers (with their flags)."""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        wrapper = program_for(token)
        if _ASSIGNMENT.match(token):
            index += 1
        elif isinstance(wrapper, Wrapper):
            index += 1
            for _ in range(wrapper.leading_positionals):
                if index < len(tokens) and not tokens[index].startswith("-"):
                    index += 1
            while index < len(tokens) and tokens[index].startswith("-"):
                index += 2 if tokens[index] in wrapper.value_flags else 1
        else:
            break
    return tokens[index:]


def _positionals(args: Sequence[str], value_flags: frozenset[str]) -> list[str]:
    """Arguments that are not flags or flag values, in order (everything after `--` excluded)."""
    found: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            break
        if arg.startswith("-") and len(arg) > 1:
            takes_value = arg in value_flags and "=" not in arg
            index += 2 if takes_value else 1
            continue
        found.append(arg)
        index += 1
    return found


def _dry_run(args: Sequence[str]) -> bool:
    for index, arg in enumerate(args):
        if arg == "--dry-run":
            following = args[index + 1] if index + 1 < len(args) else ""
            return following != "none"
        if arg.startswith("--dry-run="):
            return arg.split("=", 1)[1] in ("client", "server", "true")
    return False


def _verb_program_mutates(program: VerbProgram, args: Sequence[str]) -> bool:
    positionals = _positionals(args, program.value_flags)
    if len(positionals) <= program.verb_position:
        return False  # bare `kubectl`, `kubectl --help`, `aws help`
    verb = positionals[program.verb_position]
    if verb in program.read_only_verbs or verb.startswith(program.read_only_prefixes):
        return False
    following = positionals[program.verb_position + 1 : program.verb_position + 2]
    if following and following[0] in program.read_only_subcommands.get(verb, _NO_VALUES):
        return False
    rule = program.verb_rules.get(verb)
    if rule is VerbRule.RUNS_INNER_COMMAND:
        if "--" not in args:
            return True
        inner = args[list(args).index("--") + 1 :]
        return not inner or _simple_command_mutates(inner)
    if rule is VerbRule.COPIES_INTO_POD:
        return len(positionals) < 3 or ":" in positionals[-1]
    return not (program.dry_run and _dry_run(args))


def _request_mutates(program: RequestProgram, args: Sequence[str]) -> bool:
    for index, arg in enumerate(args):
        method = None
        if arg in program.method_flags and index + 1 < len(args):
            method = args[index + 1]
        elif arg.startswith("--") and arg.split("=", 1)[0] in program.method_flags and "=" in arg:
            method = arg.split("=", 1)[1]
        elif any(arg.startswith(flag) and len(arg) > len(flag) for flag in program.method_flags if len(flag) == 2):
            method = arg[2:]
        if method is not None and method.upper() not in program.safe_methods:
            return True
        if arg in program.body_flags or arg.startswith(program.body_prefixes):
            return True
    return False
