"""Command safety: which recommended commands the message marks as changing the cluster.

The first cases are whole command lines as the engine writes them; the table cases walk `PROGRAMS`, so that
every verb, subcommand and flag the table lists is decided the way the table says.
"""

from __future__ import annotations

import pytest

from sre_slack.domain.commands import (
    AWS,
    CURL,
    HELM,
    KUBECTL,
    PROGRAMS,
    READ_ONLY,
    TIMEOUT,
    WRAPPERS,
    VerbProgram,
    Wrapper,
    is_mutating,
    program_for,
)


@pytest.mark.parametrize(
    ("command", "mutating"),
    [
        ("kubectl get pods -n payments", False),
        ("kubectl describe pod api-7f9c4 -n payments", False),
        ("kubectl logs api-7f9c4 -n payments --previous", False),
        ("kubectl top pod -n payments", False),
        ("kubectl explain deployment.spec", False),
        ("kubectl events -n payments", False),
        ("kubectl auth can-i delete pods", False),
        ("kubectl diff -f deploy.yaml", False),
        ("kubectl rollout status deployment/api -n payments", False),
        ("kubectl rollout history deployment/api", False),
        ("kubectl -n payments get pods -o wide", False),
        ("kubectl --context prod --namespace=payments describe svc api", False),
        ("kubectl -nkube-system get pods", False),
        ("KUBECONFIG=/tmp/kc kubectl get nodes", False),
        ("kubectl logs api-7f9c4 -n payments | grep -E 'OOM|Killed' | tail -n 50", False),
        ("kubectl get pods -o json | jq '.items[] | .metadata.name'", False),
        ("watch -n 5 kubectl get pods", False),
        ("kubectl exec api-7f9c4 -n payments -- cat /etc/config.yaml", False),
        ("kubectl apply -f deploy.yaml --dry-run=server", False),
        ("kubectl cp payments/api-7f9c4:/tmp/heap.hprof ./heap.hprof", False),
        ("helm upgrade api charts/api --dry-run", False),
        ("helm status api -n payments", False),
        ("helm history api", False),
        ("helm get values api -n payments", False),
        ("curl -s https://api.example.com/healthz", False),
        ("aws eks describe-cluster --name prod", False),
        ("", False),
        ("kubectl delete pod api-7f9c4 -n payments", True),
        ("kubectl -n payments delete pod api-7f9c4", True),
        ("kubectl --namespace payments delete pod api", True),
        ("kubectl rollout undo deployment/api -n payments", True),
        ("kubectl rollout restart deployment/api", True),
        ("kubectl scale deployment/api --replicas=5", True),
        ("kubectl patch deployment api -p '{\"spec\":{}}'", True),
        ("kubectl apply -f deploy.yaml", True),
        ("kubectl apply -f deploy.yaml --dry-run=none", True),
        ("kubectl edit deployment api", True),
        ("kubectl drain node-1 --ignore-daemonsets", True),
        ("kubectl cordon node-1", True),
        ("kubectl uncordon node-1", True),
        ("kubectl taint nodes node-1 key=value:NoSchedule", True),
        ("kubectl label pod api-7f9c4 team=payments", True),
        ("kubectl annotate pod api-7f9c4 note=x", True),
        ("kubectl replace -f deploy.yaml", True),
        ("kubectl set image deployment/api api=api:2.13", True),
        ("kubectl create configmap x --from-literal=a=b", True),
        ("kubectl expose deployment api --port=80", True),
        ("kubectl autoscale deployment api --max=10", True),
        ("kubectl exec -it api-7f9c4 -- sh", True),
        ("kubectl exec api-7f9c4 -- rm -rf /data", True),
        ("kubectl some-new-verb thing", True),
        ("kubectl get pods && kubectl delete pod api-7f9c4", True),
        ("kubectl get pods; kubectl delete pod api-7f9c4", True),
        ("kubectl get pods\nkubectl delete pod api-7f9c4", True),
        ("kubectl get pods -o name | xargs kubectl delete", True),
        ("kubectl get pod $(kubectl delete pod x -o name)", True),
        ("sudo kubectl delete ns payments", True),
        ("/usr/local/bin/kubectl delete pod x", True),
        ("kubectl cp ./fix.sh payments/api-7f9c4:/tmp/fix.sh", True),
        ("helm upgrade api charts/api -n payments", True),
        ("helm rollback api 3 -n payments", True),
        ("helm uninstall api -n payments", True),
        ("curl -X POST https://api.example.com/restart", True),
        ("aws eks update-nodegroup-config --cluster-name prod", True),
        ("terraform apply", True),
        ("kubectl get pods 'unbalanced", True),
    ],
)
def test_commands_are_classified_as_changing_the_cluster_or_not(command: str, mutating: bool) -> None:
    assert is_mutating(command) is mutating



# --- the table, entry by entry -----------------------------------------------------------------------------

VERB_PROGRAMS = [program for program in PROGRAMS if isinstance(program, VerbProgram)]
# A verb each program certainly does not only read with, and what goes before the verb (`aws <service>`).
MUTATING_VERB = {"kubectl": "delete", "helm": "uninstall", "aws": "terminate-instances"}
BEFORE_VERB = {"kubectl": [], "helm": [], "aws": ["ec2"]}


def _line(*words: str) -> str:
    return " ".join(word for word in words if word)


def _main(program: VerbProgram) -> str:
    return next(name for name in MUTATING_VERB if name in program.names)


def test_every_program_name_has_exactly_one_entry() -> None:
    names = [name for program in PROGRAMS for name in program.names]
    assert len(names) == len(set(names))
    assert program_for("/usr/local/bin/kubectl") is KUBECTL
    assert program_for("oc") is KUBECTL and program_for("k") is KUBECTL
    assert program_for("terraform") is None


@pytest.mark.parametrize(
    "line",
    [
        _line(name, *BEFORE_VERB[_main(program)], verb, "api")
        for program in VERB_PROGRAMS
        for verb in sorted(program.read_only_verbs)
        for name in sorted(program.names)
    ]
    + [_line("aws", "ec2", f"{prefix}instances") for prefix in AWS.read_only_prefixes],
)
def test_read_only_verbs_are_not_marked(line: str) -> None:
    assert is_mutating(line) is False


@pytest.mark.parametrize(
    ("line", "mutating"),
    [
        case
        for program in VERB_PROGRAMS
        for verb, subs in sorted(program.read_only_subcommands.items())
        for case in [
            *((_line(_main(program), verb, sub, "api"), False) for sub in sorted(subs)),
            (_line(_main(program), verb, "not-a-reading-subcommand", "api"), True),
        ]
    ],
)
def test_a_verb_only_reads_with_its_read_only_subcommands(line: str, mutating: bool) -> None:
    assert is_mutating(line) is mutating


@pytest.mark.parametrize(
    "line",
    [
        _line(_main(program), *flag_and_value, *BEFORE_VERB[_main(program)], read_only)
        for program, read_only in ((KUBECTL, "get pods"), (HELM, "list"), (AWS, "describe-instances"))
        for flag_and_value in ((flag, MUTATING_VERB[_main(program)]) for flag in sorted(program.value_flags))
    ],
)
def test_a_flag_that_takes_a_value_is_not_read_as_the_verb(line: str) -> None:
    # `kubectl -n delete get pods` gets pods in the namespace "delete".
    assert is_mutating(line) is False


@pytest.mark.parametrize("program", VERB_PROGRAMS, ids=lambda p: _main(p))
def test_unknown_and_changing_verbs_are_marked_and_a_bare_program_is_not(program: VerbProgram) -> None:
    name = _main(program)
    assert is_mutating(_line(name, *BEFORE_VERB[name], MUTATING_VERB[name], "api")) is True
    assert is_mutating(_line(name, *BEFORE_VERB[name], "some-new-verb", "api")) is True
    assert is_mutating(_line(name, *BEFORE_VERB[name])) is False


@pytest.mark.parametrize("program", VERB_PROGRAMS, ids=lambda p: _main(p))
def test_dry_run_makes_a_verb_harmless_only_where_the_table_says(program: VerbProgram) -> None:
    name = _main(program)
    changing = _line(name, *BEFORE_VERB[name], MUTATING_VERB[name], "api")
    for flag in ("--dry-run", "--dry-run=client", "--dry-run=server", "--dry-run=true"):
        assert is_mutating(f"{changing} {flag}") is not program.dry_run, flag
    assert is_mutating(f"{changing} --dry-run=none") is True
    assert is_mutating(f"{changing} --dry-run none") is True


@pytest.mark.parametrize("name", sorted(READ_ONLY.names))
def test_read_only_programs_are_not_marked_alone_or_at_the_end_of_a_pipeline(name: str) -> None:
    assert is_mutating(f"{name} x") is False
    assert is_mutating(f"kubectl get pods -o name | {name} x") is False
    assert is_mutating(f"{name} x | kubectl delete -f -") is True


@pytest.mark.parametrize(
    ("wrapper", "name"), [(wrapper, name) for wrapper in (WRAPPERS, TIMEOUT) for name in sorted(wrapper.names)]
)
def test_a_wrapper_is_as_harmful_as_the_command_it_runs(wrapper: Wrapper, name: str) -> None:
    prefix = _line(name, *["30"] * wrapper.leading_positionals)
    assert is_mutating(f"{prefix} kubectl delete pod api") is True
    assert is_mutating(f"{prefix} kubectl get pods") is False
    for flag in sorted(wrapper.value_flags):
        # The flag's value is not the wrapped program, whatever it says.
        assert is_mutating(f"{prefix} {flag} rm kubectl get pods") is False, flag
    assert is_mutating(f"{prefix} -x kubectl delete pod api") is True


@pytest.mark.parametrize(
    ("line", "mutating"),
    [
        *((f"curl -X {method} https://api.example.com", False) for method in sorted(CURL.safe_methods)),
        *((f"curl -X {method.lower()} https://api.example.com", False) for method in sorted(CURL.safe_methods)),
        *((f"curl {flag} DELETE https://api.example.com", True) for flag in sorted(CURL.method_flags)),
        ("curl -XPOST https://api.example.com", True),
        ("curl --request=PUT https://api.example.com", True),
        ("curl --request=GET https://api.example.com", False),
        *((f"curl {flag} x https://api.example.com", True) for flag in sorted(CURL.body_flags)),
        *((f"curl {prefix}-raw x https://api.example.com", True) for prefix in CURL.body_prefixes),
        ("curl -d@body.json https://api.example.com", True),
        ("curl -sSfL -H 'Accept: application/json' https://api.example.com", False),
    ],
)
def test_curl_changes_something_only_with_a_method_or_a_body(line: str, mutating: bool) -> None:
    assert is_mutating(line) is mutating

