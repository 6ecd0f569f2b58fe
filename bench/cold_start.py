"""Cold import of the BUILT artifact (.aws-sam/build), laid out and locked down as Lambda runs it.

    make build && .venv/bin/python bench/cold_start.py [--runs 7] [--no-bytecode | --compare]

For every function of template.yaml, the built function folder and the built layers are copied to a temporary
directory and made read-only (`chmod -R a-w`, like /var/task and /opt):

    task/          the function's build output              -> sys.path[0], the working directory (/var/task)
    opt/python/    every layer's python/ merged, in order   -> /opt/python/lib/python3.13/site-packages, /opt/python
    runtime/       boto3 and its dependencies, precompiled   -> /var/lang/lib/python3.13/site-packages

A fresh `python3.13 -B -S` process (PYTHONDONTWRITEBYTECODE=1, no site-packages of this machine) with the
function's environment variables as the template sets them (resources replaced by dummy names and ARNs) times
`import app`, the handler module; another fresh process times `import boto3` from the same runtime folder.
Runs are interleaved (handler, boto3, handler, boto3, ...) so that machine noise hits both; each function's
figure is the median of `--runs` imports, divided by the median of the boto3 imports paired with them. Goals:
<= 2.0 for every function, <= 1.8 for FeedbackFunction (it answers Slack within 3 s, cold start included).

`--no-bytecode` strips every `__pycache__` from the copied artifact first (what `sam build` shipped before the
build compiled it: every cold start compiles every module); `--compare` runs both, interleaved, in one run.
boto3 stays precompiled either way, as it is in the Lambda runtime. The runtime folder is boto3 as pinned in
pyproject.toml, taken from this repository's .venv and recompiled (unchecked-hash) in the temporary copy.

Peak RSS is the child's ru_maxrss after the import (the interpreter included): a floor for MemorySize.
Running as root, `chmod a-w` does not stop writes; -B and PYTHONDONTWRITEBYTECODE do, and the bench checks
afterwards that nothing was written into the copies.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from packaging.requirements import Requirement  # noqa: E402

from localdev.aws import DeployedResource, Deployment  # noqa: E402
from localdev.template import FUNCTION_TYPE, HTTP_API_TYPE, LAYER_TYPE, Template  # noqa: E402

DEPTH = int(os.environ.get("IMPORT_DEPTH", "2"))
GOALS = {"FeedbackFunction": 1.8}
DEFAULT_GOAL = 2.0
REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "bench"
PARAMETERS = {"PortalUrl": "https://portal.example.com", "JwtIssuer": "https://idp.example.com",
              "JwtAudience": "portal"}  # fmt: skip

CHILD = textwrap.dedent(r"""
    import json, os, resource, sys, time
    target, cwd, *paths = sys.argv[1:]
    sys.path[:0] = paths
    os.chdir(cwd)
    started = time.perf_counter()
    try:
        __import__(target)
    except BaseException as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        raise SystemExit(1)
    elapsed = time.perf_counter() - started
    # Modules of the artifact (and runtime) folders that had no usable .pyc next to them: compiled in memory.
    from_source = [m.__name__ for m in list(sys.modules.values())
                   if str(getattr(m, "__file__", None) or "").endswith(".py")
                   and str(m.__file__).startswith(tuple(paths))
                   and not (getattr(m, "__cached__", None) and os.path.exists(m.__cached__))]
    print(json.dumps({"seconds": elapsed, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "modules": len(sys.modules), "from_source": len(from_source)}))
""")


# ---------------------------------------------------------------------------------------------------- layout


class _AnyAttribute(dict):
    """Every !GetAtt of a dummy resource resolves to an ARN-looking string."""

    def __init__(self, logical_id: str) -> None:
        super().__init__()
        self.logical_id = logical_id

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return f"arn:aws:bench:{REGION}:{ACCOUNT}:{self.logical_id}/{key}"


def dummy_deployment(template: Template) -> Deployment:
    """The template's resolver over made-up resources: env values look like the real ones, nothing is called."""
    values = {**template.parameter_defaults, **PARAMETERS}
    parameters = {name: template.parameters[name].coerce(values[name]) for name in template.parameters}
    deployment = Deployment(template=template, stack_name=STACK, region=REGION, account_id=ACCOUNT,
                            parameters=parameters)  # fmt: skip
    for logical_id, resource in template.resources.items():
        kind = resource.get("Type", "")
        if kind in (FUNCTION_TYPE, LAYER_TYPE, HTTP_API_TYPE):
            continue
        ref = (f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{STACK}-{logical_id}" if kind == "AWS::SQS::Queue"
               else f"{STACK}-{logical_id}")  # fmt: skip
        deployment.resources[logical_id] = DeployedResource(logical_id, kind, ref, _AnyAttribute(logical_id))
    return deployment


def runtime_distributions() -> list[importlib.metadata.Distribution]:
    """boto3 and what it requires (no extras), as installed in .venv: the runtime's site-packages."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = ["boto3"]
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in found:
            continue
        dist = importlib.metadata.distribution(name)
        found[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(found.values())


def build_runtime(dest: Path, python: str) -> None:
    for dist in runtime_distributions():
        for file in dist.files or []:
            if "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            source = Path(str(dist.locate_file(file)))
            if source.is_file() and not str(file).startswith(".."):
                target = dest / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    compile_tree(dest, python)


def compile_tree(folder: Path, python: str) -> None:
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
                    str(folder)], check=True)  # fmt: skip


def swap_native_extensions(opt: Path) -> list[str]:
    """On a machine that is not aarch64, put this machine's build of each native extension in place of the
    layer's aarch64 one, from the same distribution at the same version in .venv (or fail). Python code and
    bytecode stay the artifact's; only the compiled extension differs."""
    if platform.machine() == "aarch64":
        return []
    site = Path(sysconfig.get_paths()["purelib"])
    swapped: list[str] = []
    for so in sorted(opt.rglob("*aarch64*.so")):
        prefix = so.name.split(".cpython-")[0]
        local = sorted((site / so.parent.relative_to(opt)).glob(f"{prefix}.cpython-313-*.so"))
        top = so.relative_to(opt).parts[0]
        layer_dist = sorted(d.name for d in opt.glob("*.dist-info") if d.name.split("-")[0] == top)
        local_dist = sorted(d.name for d in site.glob("*.dist-info") if d.name.split("-")[0] == top)
        if not local or layer_dist != local_dist:
            raise SystemExit(f"no {platform.machine()} build of {so.relative_to(opt)} at the layer's version "
                             f"({layer_dist}) in {site} ({local_dist})")
        so.unlink()
        shutil.copy2(local[0], so.parent / local[0].name)
        swapped.append(layer_dist[0].removesuffix(".dist-info") if layer_dist else top)
    return swapped


def strip_bytecode(folder: Path) -> None:
    for cache in sorted(folder.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)


def lock(folder: Path) -> None:
    subprocess.run(["chmod", "-R", "a-w", str(folder)], check=True)


def unlock(folder: Path) -> None:
    subprocess.run(["chmod", "-R", "u+w", str(folder)], check=True)


def snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@dataclass
class Layout:
    """One function's read-only copy: task/, opt/python/ (layers merged), plus the shared runtime folder."""

    function: str
    bytecode: bool
    root: Path
    runtime: Path
    env: dict[str, str]
    files: set[str] = field(default_factory=set)
    swapped: list[str] = field(default_factory=list)  # native extensions replaced by this machine's

    @property
    def task(self) -> Path:
        return self.root / "task"

    @property
    def sys_path(self) -> list[str]:
        opt = self.root / "opt" / "python"
        return [str(self.task), str(opt / "lib" / "python3.13" / "site-packages"), str(opt), str(self.runtime)]


def make_layout(template: Template, deployment: Deployment, build_dir: Path, logical_id: str, workdir: Path,
                runtime: Path, bytecode: bool) -> Layout:  # fmt: skip
    spec = template.function(logical_id)
    root = workdir / f"{logical_id}-{'pyc' if bytecode else 'source'}"
    shutil.copytree(build_dir / logical_id, root / "task")
    opt = root / "opt" / "python"
    opt.mkdir(parents=True)
    for layer in spec.layers:  # extracted into /opt in order; a later layer's file wins
        layer_id = layer.get("Ref") if isinstance(layer, dict) else None
        if layer_id is None or not (build_dir / str(layer_id) / "python").is_dir():
            raise SystemExit(f"{logical_id}: layer {layer!r} has no built python/ folder in {build_dir}")
        shutil.copytree(build_dir / str(layer_id) / "python", opt, dirs_exist_ok=True)
    swapped = swap_native_extensions(opt)
    if not bytecode:
        strip_bytecode(root)
    memory = spec.memory
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(root / "task"), "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": deployment.function_name(logical_id),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory), "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{deployment.function_name(logical_id)}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        **deployment.function_env(logical_id),
    }  # fmt: skip
    lock(root)
    return Layout(logical_id, bytecode, root, runtime, env, snapshot(root), swapped)


# ---------------------------------------------------------------------------------------------------- runs


def run_child(python: str, target: str, cwd: Path, paths: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run([python, "-B", "-S", "-c", CHILD, target, str(cwd), *paths], capture_output=True,
                         text=True, env=env, check=False)  # fmt: skip
    lines = out.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {"error": out.stderr.strip()[-500:]}
    if out.returncode != 0 and "error" not in result:
        result["error"] = out.stderr.strip()[-500:]
    return result


@dataclass
class Samples:
    handler: list[float] = field(default_factory=list)
    boto3: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    modules: int = 0
    from_source: int = 0
    swapped: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def handler_ms(self) -> float:
        return statistics.median(self.handler) * 1000

    @property
    def boto3_ms(self) -> float:
        return statistics.median(self.boto3) * 1000

    @property
    def ratio(self) -> float:
        return self.handler_ms / self.boto3_ms


def measure(layouts: list[Layout], runs: int, python: str) -> dict[tuple[str, bool], Samples]:
    samples = {(lay.function, lay.bytecode): Samples(swapped=lay.swapped) for lay in layouts}
    boto_env = {k: v for k, v in layouts[0].env.items() if k.startswith(("PATH", "LANG", "TZ", "PYTHON", "AWS_"))}
    for run in range(runs):
        for lay in layouts:
            s = samples[(lay.function, lay.bytecode)]
            if s.error:
                continue
            result = run_child(python, "app", lay.task, lay.sys_path, lay.env)
            if "error" in result:
                s.error = result["error"]
                continue
            s.handler.append(result["seconds"])
            s.rss_kb.append(result["rss_kb"])
            s.modules, s.from_source = result["modules"], result["from_source"]
            boto = run_child(python, "boto3", lay.runtime, [str(lay.runtime)], boto_env)
            if "error" in boto:
                raise SystemExit(f"import boto3 failed: {boto['error']}")
            s.boto3.append(boto["seconds"])
        print(f"  run {run + 1}/{runs} done", file=sys.stderr, flush=True)
    return samples


def import_breakdown(lay: Layout, python: str) -> dict[str, int]:
    """Microseconds spent in each module's own top-level code, summed by its package's first two name parts."""
    out = subprocess.run([python, "-B", "-S", "-X", "importtime", "-c", CHILD, "app", str(lay.task), *lay.sys_path],
                         capture_output=True, text=True, env=lay.env, check=False)  # fmt: skip
    totals: dict[str, int] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        group = ".".join(name.split(".")[:DEPTH])
        totals[group] = totals.get(group, 0) + int(self_us)
    return totals


def print_import_breakdown(lay: Layout, python: str, runs: int, top: int = 25) -> None:
    samples = [import_breakdown(lay, python) for _ in range(runs)]
    groups = {name for sample in samples for name in sample}
    medians = {name: statistics.median(sample.get(name, 0) for sample in samples) for name in groups}
    print(f"{lay.function}: own import time by package (median of {runs}, -X importtime), total "
          f"{sum(medians.values()) / 1000:.0f} ms")  # fmt: skip
    for name, us in sorted(medians.items(), key=lambda item: -item[1])[:top]:
        print(f"  {us / 1000:7.1f} ms  {name}")


def python313() -> str:
    candidates = [os.environ.get("PYTHON313", ""), shutil.which("python3.13") or "",
                  str(Path(sys.base_prefix) / "bin" / "python3.13")]  # fmt: skip
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            check = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
                                   capture_output=True, text=True, check=False)  # fmt: skip
            if check.stdout.strip() == "True":
                return candidate
    raise SystemExit("bench/cold_start.py needs Python 3.13 (the Lambda runtime): set PYTHON313")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--build-dir", type=Path, default=REPO / ".aws-sam" / "build")
    parser.add_argument("--function", action="append", help="only this logical id (repeatable)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--no-bytecode", action="store_true", help="strip __pycache__ from the artifact copy")
    mode.add_argument("--compare", action="store_true", help="with and without bytecode, interleaved")
    parser.add_argument("--importtime", action="store_true",
                        help="instead of timing: where each function's import goes (python -X importtime, median)")
    args = parser.parse_args()
    if not (args.build_dir / "template.yaml").is_file():
        raise SystemExit(f"no build in {args.build_dir}: run `make build` first")
    python = python313()
    template = Template.load()
    deployment = dummy_deployment(template)
    functions = sorted(args.function or template.functions())
    modes = [False, True] if args.compare else [not args.no_bytecode]

    workdir = Path(tempfile.mkdtemp(prefix="cold-start-"))
    try:
        runtime = workdir / "runtime"
        build_runtime(runtime, python)
        lock(runtime)
        layouts = [make_layout(template, deployment, args.build_dir, fn, workdir, runtime, bytecode)
                   for fn in functions for bytecode in modes]  # fmt: skip
        runtime_files = snapshot(runtime)
        if args.importtime:
            for lay in layouts:
                print_import_breakdown(lay, python, args.runs)
            return 0
        print(f"cold import of {args.build_dir} (read-only copy, {Path(python).name} -B -S), {args.runs} "
              "interleaved runs", file=sys.stderr, flush=True)  # fmt: skip
        samples = measure(layouts, args.runs, python)
        written = [lay.function for lay in layouts if snapshot(lay.root) != lay.files]
        if snapshot(runtime) != runtime_files:
            written.append("runtime")
    finally:
        unlock(workdir)
        shutil.rmtree(workdir, ignore_errors=True)

    report(samples, functions, modes, args.runs, python)
    if written:
        print(f"WARNING: files were written into the read-only copies of {written}")
    failed = [f"{fn} ({'bytecode' if b else 'no bytecode'}): {s.error}" for (fn, b), s in samples.items() if s.error]
    for line in failed:
        print(f"FAILED import: {line}")
    return 1 if failed or written else 0


def report(samples: dict[tuple[str, bool], Samples], functions: list[str], modes: list[bool], runs: int,
           python: str) -> None:  # fmt: skip
    probe = "import platform; print(platform.python_version(), platform.machine())"
    version = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    print(f"cold import, built artifact, Python {version}, {runs} interleaved runs (median), "
          f"ratio = handler / boto3")  # fmt: skip
    header = f"{'function':27}"
    for bytecode in modes:
        label = "with .pyc" if bytecode else "no .pyc"
        header += f" | {label + ': handler':>18} {'boto3':>7} {'ratio':>5}"
    header += f" | {'goal':>5} {'met':>4} {'peak RSS':>8} {'modules':>7}"
    print(header)
    for fn in functions:
        line = f"{fn:27}"
        last: Samples | None = None
        for bytecode in modes:
            s = samples[(fn, bytecode)]
            if s.error or not s.handler:
                line += f" | {'import failed':>32}"
                continue
            line += f" | {s.handler_ms:15.0f} ms {s.boto3_ms:4.0f} ms {s.ratio:5.2f}"
            last = s
        goal = GOALS.get(fn, DEFAULT_GOAL)
        if last is not None:
            met = "yes" if last.ratio <= goal else "NO"
            line += f" | {goal:5.1f} {met:>4} {max(last.rss_kb) / 1024:5.0f} MB {last.modules:7}"
        print(line)
    for bytecode in modes:
        compiled = [s.from_source for (fn, b), s in samples.items() if b == bytecode and not s.error]
        label = "with .pyc" if bytecode else "no .pyc"
        print(f"  {label}: artifact modules compiled at import (no usable .pyc), per function: "
              f"{min(compiled, default=0)}-{max(compiled, default=0)}")
    swapped = sorted({name for s in samples.values() for name in s.swapped})
    if swapped:
        print(f"  native extensions are this machine's build ({platform.machine()}) of the layer's versions: "
              f"{', '.join(swapped)}")


if __name__ == "__main__":
    sys.exit(main())
