"""Top-level pytest configuration.

The lab's pytest plugin itself is registered through the ``pytest11`` entry point
(``lab.pytest_plugin``), so suites find it from any directory.
"""

# pytester drives the plugin's own tests (tests/plugin); pytest only accepts this at the top.
pytest_plugins = ["pytester"]
