"""Where a performance test leaves the LoadGen runs behind its figure, for the rule checker.

::

    request.node.stash[RULE_RUNS_KEY] = [offline_result]    # in the test
    runs = item.stash.get(RULE_RUNS_KEY, None)               # after it: lab.performance.rules
"""

from __future__ import annotations

import pytest

from lab.performance.result import AgentResult

RULE_RUNS_KEY = pytest.StashKey[list[AgentResult]]()
"""A test item's stash entry: the LoadGen runs behind the figure it recorded."""
