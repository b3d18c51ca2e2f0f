"""Session-end guard of the framework's own tests: nothing left running, nothing written outside.

Registered from the root ``conftest.py``; active when the session runs the repository's
``tests/`` (or with ``--session-guard``), in the controller only (xdist workers are below
it). At the end of the session it fails the run, naming them, when

- a process the session started still runs: below the pytest process, carrying the
  session's marker variable, or naming the session's temporary folder in its command line
  or environment (``lab.transport.leftovers``); those processes are then stopped, by pid;
- a new path appeared in the working tree (``git status --porcelain --ignored``: untracked
  and ignored entries; ``out/``, the run directory and tool caches are allowed) or in
  ``$HOME`` (two levels deep, tool homes such as ``.pyenv`` not descended into).

Both checks cost a few tens of milliseconds. Disable with ``-p no:tests.session_guard``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path

import pytest

from lab.transport.leftovers import Process, ProcessWatch, stop_processes

REPOSITORY = Path(__file__).resolve().parents[1]
GRACE_SECONDS = 3.0  # servers being stopped by the last teardown get this long to go
ALLOWED_IN_TREE = ("out/", ".pytest_cache/", ".hypothesis/", ".mypy_cache/", ".ruff_cache/")
HOME_NOT_DESCENDED = frozenset({".pyenv", ".rustup", ".cargo", ".m2", ".npm", ".claude", ".cache"})
HOME_IGNORED = frozenset({".bash_history", ".python_history", ".lesshst", ".viminfo", ".wget-hsts"})

_WATCH = pytest.StashKey["Guard"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--session-guard",
        action="store_true",
        help="check at the end that the session left no process running and wrote nothing outside "
        "its temporary folders (on by default for the repository's tests/)",
    )


class Guard:
    """What the session found at its start."""

    def __init__(self, config: pytest.Config) -> None:
        self.watch = ProcessWatch.begin()
        self.tree = _tree_entries()
        self.home = _home_entries()
        run_dir = config.getoption("lab_run_dir", None)
        self.run_dir = Path(run_dir).resolve() if run_dir else None

    def problems(self, basetemp: Path | None) -> tuple[list[Process], list[str]]:
        if basetemp is not None:
            self.watch.add_folder(basetemp)
        left = self.watch.left_behind(grace=GRACE_SECONDS)
        new_in_tree = sorted(_tree_entries() - self.tree)
        written = [f"{REPOSITORY}/{entry}" for entry in new_in_tree if not self._allowed(entry)]
        written += [str(Path.home() / entry) for entry in sorted(_home_entries() - self.home)]
        if basetemp is not None:  # HOME or the working tree may hold the temporary folder itself
            written = [
                path for path in written if not Path(path).resolve().is_relative_to(basetemp.resolve())
            ]
        return left, written

    def _allowed(self, entry: str) -> bool:
        """``entry`` as git prints it, relative to the repository (directories end in '/')."""
        if entry.startswith(ALLOWED_IN_TREE) or "__pycache__" in entry.split("/"):
            return True
        return self.run_dir is not None and (REPOSITORY / entry).resolve().is_relative_to(self.run_dir)


def _tree_entries() -> set[str]:
    """Untracked and ignored paths of the working tree (directories collapsed, as git shows them)."""
    if not (REPOSITORY / ".git").exists():
        return set()
    try:
        listed = subprocess.run(
            ["git", "status", "--porcelain=v1", "-z", "--ignored", "--untracked-files=normal"],
            cwd=REPOSITORY,
            capture_output=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    entries = set()
    for item in listed.decode(errors="replace").split("\0"):
        if item[:3] in ("?? ", "!! "):
            entries.add(item[3:])
    return entries


def _home_entries() -> set[str]:
    home = Path.home()
    entries: set[str] = set()
    try:
        top = list(os.scandir(home))
    except OSError:
        return entries
    for entry in top:
        if entry.name in HOME_IGNORED:
            continue
        entries.add(entry.name)
        if entry.name in HOME_NOT_DESCENDED or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            entries.update(f"{entry.name}/{inner.name}" for inner in os.scandir(entry.path))
        except OSError:
            continue
    return entries


def _runs_repository_tests(config: pytest.Config) -> bool:
    if config.getoption("session_guard"):
        return True
    tests = REPOSITORY / "tests"
    for argument in config.args:
        path = (config.invocation_params.dir / argument.split("::")[0]).resolve()
        if path == tests or path.is_relative_to(tests):
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not _runs_repository_tests(config):
        return  # an xdist worker is watched by its controller
    config.stash[_WATCH] = Guard(config)


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    yield  # after every other plugin: xdist has stopped its workers, the summary is printed
    guard = session.config.stash.get(_WATCH, None)
    if guard is None:
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    basetemp = factory.getbasetemp() if factory is not None else None
    left, written = guard.problems(basetemp)
    if not left and not written:
        return
    lines = []
    if left:
        lines.append(f"{len(left)} process(es) started by this session still running:")
        lines += [f"  {process.describe()}" for process in left]
        survivors = stop_processes(left)
        lines.append(
            "  stopped them by pid" if not survivors else f"  could not stop: {[p.pid for p in survivors]}"
        )
    if written:
        lines.append("written outside the temporary folders, the run directory and out/:")
        lines += [f"  {path}" for path in written]
        lines.append("  (a test writes there, or someone created these while the tests ran)")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")  # ends the progress line of -q runs
        reporter.write_sep("=", "session guard: left behind", red=True, bold=True)
        for line in lines:
            reporter.write_line(line)
    else:
        print("\n".join(["session guard: left behind", *lines]), file=sys.stderr)
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
