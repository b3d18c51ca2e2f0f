"""The plugin end to end on FakeTransport: parametrization, outcomes, the record, JUnit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest

from lab.criteria import Outcome
from lab.results import load_run
from tests.plugin.conftest import write_fake_conftest

ARGS = (
    "--lab-inventory",
    "inventory.yaml",
    "--lab-no-lease",
    "--lab-run-dir",
    "run",
    "-p",
    "no:cacheprovider",
)


def test_tests_are_parametrized_per_node_and_per_card_with_readable_ids(lab_project: pytest.Pytester) -> None:
    write_fake_conftest(lab_project, "pass")
    lab_project.makepyfile(
        """
        def test_per_node(node):
            pass

        def test_per_card(device):
            pass
        """
    )
    result = lab_project.runpytest("--collect-only", "-q", *ARGS)
    ids = [line for line in result.outlines if "::" in line]
    assert ids == [
        "test_tests_are_parametrized_per_node_and_per_card_with_readable_ids.py::test_per_node[alpha]",
        "test_tests_are_parametrized_per_node_and_per_card_with_readable_ids.py::test_per_node[beta]",
        "test_tests_are_parametrized_per_node_and_per_card_with_readable_ids.py::test_per_node[gamma]",
        "test_tests_are_parametrized_per_node_and_per_card_with_readable_ids.py::test_per_card[alpha:rbln0]",
        "test_tests_are_parametrized_per_node_and_per_card_with_readable_ids.py::test_per_card[alpha:rbln1]",
        "test_tests_are_parametrized_per_node_and_per_card_with_readable_ids.py::test_per_card[beta:npu0]",
        "test_tests_are_parametrized_per_node_and_per_card_with_readable_ids.py::test_per_card[gamma:gpu0]",
    ]


def test_each_outcome_reaches_the_record_junit_and_terminal(lab_project: pytest.Pytester) -> None:
    write_fake_conftest(
        lab_project,
        """
        temperatures = {"alpha": "70", "beta": "83", "gamma": "99"}
        fake.reply(["read-temperature"], stdout=temperatures[node.name])
        fake.reply(["slow-tool"], hang=True)
        """,
    )
    lab_project.makepyfile(
        """
        import pytest

        def test_temperature(node, measure):
            value = float(node.transport.check(["read-temperature"]).stdout)
            measure("temperature", value)

        def test_tool_hangs(node):
            node.transport.run(["slow-tool"], timeout=0.1)

        @pytest.mark.lab_vendor("nvidia")
        def test_nvidia_only(node):
            pass
        """
    )
    result = lab_project.runpytest("--junitxml=junit.xml", *ARGS)
    result.assert_outcomes(passed=2, failed=1, errors=3, skipped=2)
    assert "1 marginal" in result.outlines[-1]
    result.stdout.fnmatch_lines(["*MARGINAL*", "*ERROR*test_tool_hangs*"])

    run = load_run(lab_project.path / "run")
    outcomes = {record.test_id.split("::")[1]: record.outcome for record in run.records}
    assert outcomes == {
        "test_temperature[alpha]": Outcome.PASS,
        "test_temperature[beta]": Outcome.MARGINAL,
        "test_temperature[gamma]": Outcome.FAIL,
        "test_tool_hangs[alpha]": Outcome.ERROR,
        "test_tool_hangs[beta]": Outcome.ERROR,
        "test_tool_hangs[gamma]": Outcome.ERROR,
        "test_nvidia_only[alpha]": Outcome.SKIP,
        "test_nvidia_only[beta]": Outcome.SKIP,
        "test_nvidia_only[gamma]": Outcome.PASS,
    }
    failed = run.record(next(r.test_id for r in run.records if r.test_id.endswith("test_temperature[gamma]")))
    assert failed is not None and failed.measurements[0].value == 99.0
    assert failed.measurements[0].limits.maximum == 85
    hung = next(r for r in run.records if r.test_id.endswith("test_tool_hangs[alpha]"))
    assert hung.error is not None and hung.error.type == "lab.errors.CommandTimeout"
    assert hung.evidence, "the transcript of an ERROR test is kept as evidence"
    assert "slow-tool" in (lab_project.path / "run" / hung.evidence[0]).read_text()

    tree = ElementTree.parse(lab_project.path / "junit.xml")
    cases = {case.get("name"): case for case in tree.iter("testcase")}
    assert cases["test_tool_hangs[beta]"].find("error") is not None
    assert cases["test_tool_hangs[beta]"].find("failure") is None
    assert cases["test_temperature[gamma]"].find("failure") is not None
    suite = next(tree.iter("testsuite"))
    assert (suite.get("failures"), suite.get("errors")) == ("1", "3")
    properties = {prop.get("name"): prop.get("value") for prop in suite.find("properties") or []}
    assert properties["lab.profile"] == "plugin-test 0.1"
    assert len(properties["lab.inventory.sha256"]) == 64


def test_a_failing_test_keeps_its_transcript_with_secrets_masked(
    lab_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALPHA_PASSWORD", "s3cret-value")
    inventory = lab_project.path / "inventory.yaml"
    inventory.write_text(
        inventory.read_text().replace(
            "  user: lab\n", "  user: lab\n  auth: {password_env: ALPHA_PASSWORD}\n"
        )
    )
    write_fake_conftest(lab_project, 'fake.reply(["echo-secret"], stdout="token s3cret-value\\n")')
    lab_project.makepyfile(
        """
        def test_leaks(node):
            node.transport.run(["echo-secret"])
            assert False, "device missed it"
        """
    )
    result = lab_project.runpytest("--lab-select", "name=alpha", *ARGS)
    result.assert_outcomes(failed=1)
    run = load_run(lab_project.path / "run")
    (record,) = run.records
    transcript = (lab_project.path / "run" / record.evidence[0]).read_text()
    assert "echo-secret" in transcript
    assert "s3cret-value" not in transcript
    assert "********" in transcript


def test_unknown_inventory_is_a_usage_error_not_a_traceback(lab_project: pytest.Pytester) -> None:
    lab_project.makepyfile("def test_x(node):\n    pass\n")
    result = lab_project.runpytest("--lab-inventory", "missing.yaml", "--lab-no-lease")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "no inventory file at missing.yaml" in output
    assert "Traceback" not in output


def test_under_xdist_each_node_runs_in_exactly_one_worker(lab_project: pytest.Pytester) -> None:
    write_fake_conftest(lab_project, 'fake.reply(["true"])')
    lab_project.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("repeat", range(4))
        def test_spread(node, repeat):
            node.transport.check(["true"])
        """
    )
    result = lab_project.runpytest_subprocess("-n", "2", *ARGS)
    result.assert_outcomes(passed=12)
    run = load_run(lab_project.path / "run")
    workers_per_node: dict[str, set[str]] = {}
    for record in run.records:
        workers_per_node.setdefault(record.node or "", set()).add(record.worker)
    assert set(workers_per_node) == {"alpha", "beta", "gamma"}
    assert all(len(workers) == 1 for workers in workers_per_node.values()), workers_per_node
    assert {worker for workers in workers_per_node.values() for worker in workers} == {"gw0", "gw1"}


def test_a_killed_run_keeps_finished_records_and_marks_the_rest_incomplete(
    lab_project: pytest.Pytester,
) -> None:
    write_fake_conftest(lab_project, "pass")
    lab_project.makepyfile(
        """
        import os, signal

        def test_first(node):
            pass

        def test_second(node):
            if node.name == "beta":
                os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = lab_project.runpytest_subprocess(*ARGS)
    assert result.ret == -9
    run = load_run(lab_project.path / "run")
    outcomes = {record.test_id.split("::")[1]: record.outcome for record in run.records}
    assert outcomes == {
        "test_first[alpha]": Outcome.PASS,
        "test_first[beta]": Outcome.PASS,
        "test_first[gamma]": Outcome.PASS,
        "test_second[alpha]": Outcome.PASS,
        "test_second[beta]": Outcome.INCOMPLETE,
        "test_second[gamma]": Outcome.INCOMPLETE,
    }
    assert run.verdict is Outcome.INCOMPLETE


def test_allure_sees_node_and_device_parameters_and_failed_versus_broken(
    lab_project: pytest.Pytester,
) -> None:
    write_fake_conftest(
        lab_project,
        """
        fake.reply(["read-temperature"], stdout={"alpha": "70", "beta": "99", "gamma": "70"}[node.name])
        fake.reply(["slow-tool"], hang=True)
        """,
    )
    lab_project.makepyfile(
        """
        def test_temperature(device, measure):
            if device.node.name == "gamma":
                device.transport.run(["slow-tool"], timeout=0.1)
            measure("temperature", float(device.transport.check(["read-temperature"]).stdout))
        """
    )
    lab_project.runpytest("--alluredir", "allure", *ARGS)
    results = [json.loads(path.read_text()) for path in (lab_project.path / "allure").glob("*-result.json")]
    by_target = {
        tuple(p["value"].strip("'") for p in result["parameters"] if p["name"] in ("node", "device")): result
        for result in results
    }
    assert set(by_target) == {("alpha", "rbln0"), ("alpha", "rbln1"), ("beta", "npu0"), ("gamma", "gpu0")}
    assert by_target[("alpha", "rbln0")]["status"] == "passed"
    assert by_target[("beta", "npu0")]["status"] == "failed"  # the device missed its limit
    assert by_target[("gamma", "gpu0")]["status"] == "broken"  # infrastructure: never the device's fault
    attachments = {a["name"] for a in by_target[("beta", "npu0")].get("attachments", [])}
    assert {"measurements", "command transcript"} <= attachments
    environment = (lab_project.path / "allure" / "environment.properties").read_text()
    assert "lab.profile=plugin-test 0.1" in environment
    assert "lab.inventory.sha256=" in environment


def test_deselected_tests_are_not_incomplete(lab_project: pytest.Pytester) -> None:
    write_fake_conftest(lab_project, "pass")
    lab_project.makepyfile(
        """
        def test_wanted(node):
            pass

        def test_not_asked_for(node):
            pass
        """
    )
    result = lab_project.runpytest("-k", "test_wanted", *ARGS)
    result.assert_outcomes(passed=3, deselected=3)
    run = load_run(lab_project.path / "run")
    assert {record.outcome for record in run.records} == {Outcome.PASS}
    assert len(run.records) == 3
    assert run.verdict is Outcome.PASS
