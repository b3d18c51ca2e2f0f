"""Render time and printed page count of the certification report at 9, 100 and 1,000 nodes.

    .venv/bin/python benchmarks/bench_report_pages.py [--sizes 9,100,1000] [--tests 30] [--repeat 3]

Each size is a synthetic run written with the real results store (``bench_report.build``: every
test one measurement and one series file, some of them above their limit, so certificates list
failures). The report is rendered, signed and written in a fresh process (median of
``--repeat``), then printed to PDF by Debian's Chromium once; the pages are counted with pypdf
(dev extra). Printed: seconds and pages, per node, and the ratio of each size's per-node
figures against the smallest size measured in the same run (the baseline): a report that
grows linearly with the lab shows ratios near 1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_report import build  # the same run builder as the speed benchmark


def pages_of(pdf: Path) -> int:
    import pypdf

    return len(pypdf.PdfReader(pdf).pages)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="9,100,1000", help="node counts, comma-separated")
    parser.add_argument("--tests", type=int, default=30, help="tests per node (a campaign has 30-60)")
    parser.add_argument("--points", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pdf-timeout", type=float, default=1200.0)
    arguments = parser.parse_args()

    from lab.report import generate_key_pair
    from lab.report.pdf import PdfError, html_to_pdf

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as folder:
        work = Path(folder)
        generate_key_pair(work / "keys")
        for nodes in (int(size) for size in arguments.sizes.split(",")):
            run_dir = work / f"20261125T000000Z-n{nodes}"
            build(run_dir, nodes, arguments.tests, arguments.points)
            samples = []
            out = work / f"report-{nodes}.html"
            for _ in range(arguments.repeat):
                child = subprocess.run(
                    [sys.executable, str(Path(__file__).with_name("bench_report.py")), "--measure",
                     str(run_dir), str(out), str(work / "keys")],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                samples.append(json.loads(child.stdout.strip().splitlines()[-1]))
            render = statistics.median(s["total"] for s in samples)
            started = time.perf_counter()
            try:
                pdf = html_to_pdf(out, out.with_suffix(".pdf"), timeout=arguments.pdf_timeout)
                printing, pages = time.perf_counter() - started, pages_of(pdf)
            except PdfError as exc:
                print(f"{nodes} nodes: PDF not printed: {exc}")
                printing, pages = float("nan"), 0
            rows.append((nodes, render, printing, pages, samples[-1]["bytes"] / 1e6))
            print(f"{nodes:>5} nodes × {arguments.tests} tests: render {render:.2f} s "
                  f"(median of {len(samples)}), "
                  f"HTML {rows[-1][4]:.1f} MB, PDF printed in {printing:.1f} s, {pages} pages "
                  f"({pages / nodes:.2f} per node)", flush=True)  # fmt: skip
    base_nodes, base_render, base_print, base_pages, _ = rows[0]
    print(f"ratios per node against the {base_nodes}-node baseline of this run:")
    for nodes, render, printing, pages, _ in rows:
        print(f"{nodes:>5} nodes: render {render / nodes / (base_render / base_nodes):.2f}, "
              f"print {printing / nodes / (base_print / base_nodes):.2f}, "
              f"pages {pages / nodes / (base_pages / base_nodes):.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
