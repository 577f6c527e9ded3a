"""Mutation testing of the core, one module at a time, with mutmut and only its relevant tests.

mutmut plants one small change (a mutant) at a time in a module's functions and runs the tests
that call the changed function; a mutant no test notices "survives". The base configuration is
the ``[mutmut]`` section of ``setup.cfg``; this script narrows it per module: it copies the
package and the tests into ``build/mutation/<module>/`` (so each module keeps its own mutmut
state, and reruns are incremental), lets mutmut mutate only that module's files, selects only
the test files listed for it in ``TESTS``, and runs under ``CI=true`` (the derandomized
hypothesis profile of ``tests/conftest.py``). Not part of CI's default run: a module takes
minutes on 2 cores, the whole core about an hour or more.

    python benchmarks/mutation.py cg                 # one module
    python benchmarks/mutation.py cg linesearch      # several, one after the other
    python benchmarks/mutation.py --all              # the whole core (every key of TESTS)
    python benchmarks/mutation.py --summary cg       # counts and survivors of a finished run
    python benchmarks/mutation.py --summary --diffs cg   # ... with each survivor's diff
    python benchmarks/mutation.py --module cg --rerun "npytrpo.cg.x_conj*"  # after new tests
    python benchmarks/mutation.py --show npytrpo.cg.x_conjugate_gradient__mutmut_3  --module cg
    python benchmarks/mutation.py oracle.run         # one file of a package (see below)

A key is a file of ``npytrpo`` (``cg`` = ``npytrpo/cg.py``), a package (``oracle`` = every file
of ``npytrpo/oracle/``), or one file of a package, dotted: ``oracle.run`` = only
``npytrpo/oracle/run.py`` (likewise ``oracle.check``, ``oracle.verify``, ``oracle.diagnose``,
``oracle.outcome``, ``oracle.format``, ``oracle.files``, ``oracle.make``, ``oracle.suite``,
``oracle.cli``; ``io.persist``, ``io.mjstate``, ``io.envstate``), with its own test list and
its own work folder ``build/mutation/oracle.run``, for packages too large for one run.
``--all`` runs the undotted keys only (a package already covers its files).

Each module ends with a line of counts (generated, killed, survived, timeout, no tests) and the
names of the surviving mutants; ``--show NAME`` prints a mutant's diff. Verdicts on survivors
(equivalent, or a gap closed by a named test) live in ``benchmarks/results/mutation.md``.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutation"

# Module (a file or a package of npytrpo) -> the test files that judge it: its own tests and
# the tests of its direct consumers that use it as the thing under test.
TESTS: dict[str, list[str]] = {
    "cg": ["tests/test_cg.py", "tests/test_cg_results.py"],
    "linesearch": ["tests/test_linesearch.py", "tests/test_linesearch_details.py"],
    "trust_region": ["tests/test_trust_region.py", "tests/test_step_variants.py"],
    "linearize": [
        "tests/test_linearize_details.py",
        "tests/test_policies.py",
        "tests/test_trust_region.py",
        "tests/test_sensitivity.py",
    ],
    "sensitivity": ["tests/test_sensitivity.py", "tests/test_policies.py"],
    "distributions": [
        "tests/test_distributions.py",
        "tests/test_distributions_details.py",
        "tests/test_policies.py",
        "tests/test_fast_paths.py",
    ],
    "policies": [
        "tests/test_policies.py",
        "tests/test_gsde_policy.py",
        "tests/test_policies_details.py",
    ],
    "nn": [
        "tests/test_nn.py",
        "tests/test_nn_details.py",
        "tests/test_sensitivity.py",
        "tests/test_policies.py",
        "tests/test_gsde_policy.py",
        "tests/test_fast_paths.py",
    ],
    "closed_form": ["tests/test_closed_form.py", "tests/test_trust_region.py"],
    "advantages": [
        "tests/test_advantages.py",
        "tests/test_advantages_details.py",
        "tests/test_rollout.py",
    ],
    # test_ppo_gsde.py judges GSDEHead.var_vjp (PPO-KL's penalty gradient) by central differences.
    "gsde": [
        "tests/test_gsde.py",
        "tests/test_gsde_details.py",
        "tests/test_gsde_policy.py",
        "tests/test_ppo_gsde.py",
    ],
    # test_agent.py left out: its learning runs cost minutes per surviving mutant, and the
    # agent only reads TRPOConfig's fields, which the step tests and test_config.py judge.
    "config": [
        "tests/test_config.py",
        "tests/test_step_variants.py",
        "tests/test_trust_region.py",
    ],
    "normalize": [
        "tests/test_normalize.py",
        "tests/test_normalize_details.py",
        "tests/test_rollout.py",
    ],
    # test_fast_paths.py judges fit(start=...): the forward pass the agent hands over
    "value": [
        "tests/test_value.py",
        "tests/test_value_details.py",
        "tests/test_value_ftol.py",
        "tests/test_fast_paths.py",
    ],
    "value_adam": ["tests/test_value_adam.py"],
    # settle_fit: the rule both L-BFGS-B fits share (keep θ_new, or the start and why)
    "value_info": [
        "tests/test_value.py",
        "tests/test_value_varpro.py",
        "--deselect=tests/test_value_varpro.py::"
        "test_an_agent_with_varpro_resumes_bit_for_bit_and_fits_alike_in_its_helper",
    ],
    # the agent test starts the fit's helper process, which mutmut's runner cannot follow
    "value_varpro": [
        "tests/test_value_varpro.py",
        "--deselect=tests/test_value_varpro.py::"
        "test_an_agent_with_varpro_resumes_bit_for_bit_and_fits_alike_in_its_helper",
    ],
    # lbfgsb.py: SciPy's setulb driven without scipy.optimize, judged against minimize itself.
    "lbfgsb": ["tests/test_lbfgsb.py", "tests/test_value_details.py", "tests/test_value_ftol.py"],
    # test_fast_paths.py judges collect's copy=False path, finiteness check and frozen normaliser.
    "rollout": [
        "tests/test_rollout.py",
        "tests/test_envstate.py",
        "tests/test_fast_paths.py",
        "tests/test_rollout_details.py",
        # make_rollout's normalising branch serves collect_workers
        "tests/test_workers.py",
    ],
    # vecenv.py: the lean SAME_STEP step, judged against gymnasium's own SyncVectorEnv.
    "vecenv": ["tests/test_vecenv.py", "tests/test_rollout.py"],
    # acting.py: what collect and the workers' run_slice share (env actions, the frozen
    # normaliser, episode bookkeeping, learning rewards).
    "acting": [
        "tests/test_rollout.py",
        "tests/test_fast_paths.py",
        "tests/test_rollout_details.py",
        "tests/test_faults.py",
        "tests/test_workers.py",
    ],
    # The value fit's helper process (and the agent that overlaps it with the next rollout).
    "fitproc": ["tests/test_fitproc.py"],
    # The policy update of one iteration, by AgentConfig.update.
    "updates": ["tests/test_updates.py"],
    # vectorization="workers": whole rollouts and env snapshots in worker processes.
    "workers": ["tests/test_workers.py", "tests/test_envstate.py"],
    # Every test file that imports npytrpo.io, and the resume tests of PPO (the only one of
    # its Adam moments and β in a checkpoint) and of the Adam value fit (of its moments).
    # test_cartpole_learns left out: a ~50 s learning run that reaches io only through
    # learn()'s checkpoint arguments (None), judged elsewhere.
    "io": [
        "tests/test_io_files.py",
        "tests/test_io_details.py",
        "tests/test_checkpoint.py",
        "tests/test_envstate.py",
        "tests/test_mjstate.py",
        "tests/test_periodic.py",
        "tests/test_rundir.py",
        "tests/test_faults.py",
        "tests/test_agent.py",
        "--deselect=tests/test_agent.py::test_cartpole_learns",
        "tests/test_ppo_gsde.py::test_agent_runs_ppo_with_gsde_exploration",
        # the only resume test of the Adam value fit's moments in a checkpoint
        "tests/test_value_adam.py::test_adam_fit_resume_is_bit_identical_to_an_uninterrupted_run",
        "tests/test_io_mutation_gaps.py",
        # envstate hands a WorkerVectorEnv's snapshot and restore over to its workers
        "tests/test_workers.py",
    ],
    # PPO (issue 14): not in the TRPO core list, run before resolving the PPO work
    "ppo_objectives": [
        "tests/test_ppo.py",
        "tests/test_ppo_gsde.py",
        "tests/test_ppo_objectives_details.py",
    ],
    "ppo": ["tests/test_ppo.py", "tests/test_ppo_gsde.py", "tests/test_ppo_details.py"],
    "oracle": [
        "tests/test_oracle.py",
        "tests/test_oracle_details.py",
        "tests/test_oracle_check_details.py",
        "tests/test_oracle_gsde.py",
        "tests/test_oracle_margins.py",
        "tests/test_oracle_suite.py",
        "tests/test_oracle_verify_details.py",
        "tests/test_oracle_diagnose_details.py",
        "tests/test_oracle_outcome_details.py",
        "tests/test_oracle_make_details.py",
        "tests/test_oracle_files_details.py",
        "tests/test_oracle_format_details.py",
        "tests/test_oracle_suite_details.py",
        "tests/test_oracle_cli_details.py",
        "tests/test_cli_reference.py",  # docs/cli.md: the --help text of every command
    ],
}
# The oracle package one file at a time (module_glob): every file is exercised through
# make_case/run_case/check_result/main by all of the oracle's test files, so each file keeps
# the package's list; mutmut runs only the tests that call the mutated function, fastest first.
TESTS.update(
    {
        f"oracle.{name}": TESTS["oracle"]
        for name in (
            "run", "check", "verify", "diagnose", "outcome",
            "format", "files", "make", "suite", "cli",
        )
    }
)  # fmt: skip

# The io package one file at a time, for the same reason: the resume and kill -9 tests call
# almost every function of io, so each file keeps the package's list.
TESTS.update({f"io.{name}": TESTS["io"] for name in ("persist", "mjstate", "envstate")})

# Files outside npytrpo/ and tests/ that a module's tests read (copied into the work folder
# and, through mutmut's also_copy, into its mutants/ tree), by package.
# docs/oracle.md: the 5-minute guide's commands; docs/cli.md and its generator: the reference.
ALSO_COPY: dict[str, list[str]] = {
    "oracle": ["docs/oracle.md", "docs/cli.md", "docs/cli_reference.py", "docs/index.md"]
}


def module_glob(module: str) -> str:
    """The ``only_mutate`` pattern of a module: its file, every file of its package, or, for a
    dotted key ``package.file``, that one file of the package."""
    if "." in module:
        return "npytrpo/" + module.replace(".", "/") + ".py"
    if (ROOT / "npytrpo" / module).is_dir():
        return f"npytrpo/{module}/*"
    return f"npytrpo/{module}.py"


def prepare(module: str) -> Path:
    """Copy the package and tests into the module's work folder and narrow the mutmut config.

    Files are copied with their modification times, and only when they changed, so that
    mutmut's own cache (it regenerates the mutants of a source newer than its mutants) works.
    """
    work = WORK / module
    for name in ("npytrpo", "tests"):
        shutil.copytree(
            ROOT / name,
            work / name,
            dirs_exist_ok=True,
            copy_function=_copy_if_newer,
            ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"),
        )
    shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
    extra = ALSO_COPY.get(module.split(".")[0], [])
    for name in extra:
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        _copy_if_newer(str(ROOT / name), str(work / name))
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "setup.cfg")
    if extra:  # mutmut copies a directory into mutants/ (a file needs its folder there)
        cfg["mutmut"]["also_copy"] = "\n" + "\n".join(sorted({n.split("/")[0] for n in extra}))
    cfg["mutmut"]["only_mutate"] = module_glob(module)
    cfg["mutmut"]["pytest_add_cli_args_test_selection"] = "\n" + "\n".join(TESTS[module])
    with open(work / "setup.cfg", "w") as fh:
        cfg.write(fh)
    return work


def _copy_if_newer(src: str, dst: str) -> None:
    if os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(src):
        with open(src, "rb") as a, open(dst, "rb") as b:
            if a.read() == b.read():
                return
    shutil.copy2(src, dst)


def mutmut(work: Path, *args: str, capture: bool = False) -> subprocess.CompletedProcess:
    """Run ``python -m mutmut ARGS`` in a work folder, under the derandomized hypothesis profile."""
    env = dict(os.environ, CI="true", PYTHONPATH="")
    return subprocess.run(
        [sys.executable, "-m", "mutmut", *args],
        cwd=work,
        env=env,
        capture_output=capture,
        text=True,
        check=False,
    )


def summary(module: str) -> dict:
    """Counts and survivors of a module's last run, from mutmut's own records."""
    work = WORK / module
    mutmut(work, "export-cicd-stats", capture=True)
    stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
    listing = mutmut(work, "results", capture=True).stdout
    stats["survivors"] = [
        line.split(":")[0].strip()
        for line in listing.splitlines()
        if line.strip().endswith(": survived")
    ]
    stats["module"] = module
    return stats


def report(stats: dict) -> str:
    """One line of counts, then one survivor a line."""
    head = (
        f"{stats['module']}: generated {stats['total']}, killed {stats['killed']}, "
        f"survived {stats['survived']}, timeout {stats['timeout']}, "
        f"no tests {stats['no_tests']}, suspicious {stats['suspicious']}"
    )
    return "\n".join([head] + [f"  survived: {name}" for name in stats["survivors"]])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("modules", nargs="*", help=f"among {', '.join(TESTS)}")
    p.add_argument(
        "--all", action="store_true", help="every core module (undotted keys), in priority order"
    )
    p.add_argument("--summary", action="store_true", help="report a finished run, run nothing")
    p.add_argument("--show", metavar="MUTANT", help="print one mutant's diff (needs --module)")
    p.add_argument("--module", help="the module whose work folder holds --show's mutant")
    p.add_argument("--diffs", action="store_true", help="with --summary: each survivor's diff")
    p.add_argument(
        "--rerun",
        nargs="+",
        metavar="MUTANT",
        help="rerun these mutants (globs) of one module with the current tests (needs --module)",
    )
    p.add_argument("--max-children", type=int, default=2, help="parallel test processes")
    a = p.parse_args()
    if a.show:
        mutmut(WORK / a.module, "show", a.show)
        return
    if a.rerun:
        mutmut(prepare(a.module), "run", "--max-children", str(a.max_children), *a.rerun)
        print(report(summary(a.module)), flush=True)
        return
    modules = [m for m in TESTS if "." not in m] if a.all else a.modules
    unknown = [m for m in modules if m not in TESTS]
    if unknown or not modules:
        p.error(f"modules must be among {sorted(TESTS)}, got {unknown or 'none'}")
    for module in modules:
        if not a.summary:
            mutmut(prepare(module), "run", "--max-children", str(a.max_children))
        stats = summary(module)
        print(report(stats), flush=True)
        if a.diffs:
            for name in stats["survivors"]:
                print(f"== {name}", flush=True)
                mutmut(WORK / module, "show", name)


if __name__ == "__main__":
    main()
