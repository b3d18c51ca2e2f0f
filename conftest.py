"""Top-level pytest configuration.

The lab's pytest plugin itself is registered through the ``pytest11`` entry point
(``lab.pytest_plugin``), so suites find it from any directory.
"""

# pytester drives the plugin's own tests (tests/plugin); pytest only accepts this at the top.
# tests/session_guard.py fails a run of tests/ that leaves a process running or writes outside
# its temporary folders.
pytest_plugins = ["pytester", "tests.session_guard"]
