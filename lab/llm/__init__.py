"""LLM serving certification on the controller: agent requests for a node's endpoint and their figures.

::

    session = LlmSession(runner, node.serving, duration_s=2.0)
    offline = session.offline()            # LlmFigures: tokens/s, validity, ...
    server = session.server(target_qps=2)  # p99 TTFT / TPOT in ms
"""
