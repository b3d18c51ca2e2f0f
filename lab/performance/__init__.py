"""Controller side of the performance suite: push the agent, run LoadGen on the node, judge.

::

    from lab.performance import AgentRunner, choose_backend, run_request

    runner = AgentRunner(transport, python="python3")
    result = runner.run(request, evidence_dir=Path("runs/x/evidence"))   # AgentResult
    result.valid, result.samples_per_second, result.latency_ms("90.00")

Modules: ``zipapp`` (build the agent), ``agent_runner`` (push/run/parse, deadline, ERROR
on crash), ``result`` (the parsed result), ``telemetry`` (vendor tool samples → series),
``server_search`` (highest Server QPS within the p99 bound), ``figures`` (efficiency,
percent of peak, scaling), ``backend_choice`` (which backend a node uses),
``reference_model`` (the ONNX model of the CPU reference backend), ``requirements``
(what a node needs: ``lab node prepare|check``).
"""
