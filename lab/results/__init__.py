"""The crash-safe results store: one directory per run, one record per test.

Writing (one ``RunWriter`` per process / xdist worker; the controller writes the manifest)::

    from lab.results import CollectedTest, Manifest, RunWriter, TestRecord, new_run_id, write_manifest

    run_dir = Path("results") / new_run_id()
    run_dir.mkdir(parents=True)
    manifest = Manifest.start(run_id=run_dir.name, command_line=sys.argv)
    write_manifest(run_dir, manifest)
    with RunWriter(run_dir, worker="gw0") as writer:
        writer.collected([CollectedTest("t.py::test_a[n1:npu0]", node="n1", device="npu0")])
        writer.started("t.py::test_a[n1:npu0]", node="n1", device="npu0")
        writer.record(TestRecord(test_id="t.py::test_a[n1:npu0]", outcome=Outcome.PASS, node="n1"))
    write_manifest(run_dir, manifest.finish(exit_status=0))

Reading (the single source for every view)::

    from lab.results import load_run
    run = load_run(run_dir)
    run.verdict, run.counts(), run.matrix(), run.warnings
"""

from lab.results.evidence import EVIDENCE_DIR, write_evidence
from lab.results.files import safe_name, sha256_of, write_atomically
from lab.results.loader import load_run
from lab.results.manifest import (
    MANIFEST_NAME,
    InputFile,
    Manifest,
    ProfileRef,
    new_run_id,
    read_manifest,
    write_manifest,
)
from lab.results.provenance import git_commit
from lab.results.record import ErrorInfo, TestRecord, utc_now
from lab.results.run import Run
from lab.results.writer import CollectedTest, RunObserver, RunWriter

__all__ = [
    "EVIDENCE_DIR",
    "MANIFEST_NAME",
    "CollectedTest",
    "ErrorInfo",
    "InputFile",
    "Manifest",
    "ProfileRef",
    "Run",
    "RunObserver",
    "RunWriter",
    "TestRecord",
    "git_commit",
    "load_run",
    "new_run_id",
    "read_manifest",
    "safe_name",
    "sha256_of",
    "utc_now",
    "write_atomically",
    "write_evidence",
    "write_manifest",
]
