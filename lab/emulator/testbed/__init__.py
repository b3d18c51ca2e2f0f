"""The test-bed launcher: emulated nodes behind real sshd processes (``lab testbed``).

``launcher`` (up/status/down), ``nodes`` (node directories and tool wrappers),
``resolved`` (the resolved inventory), ``manifest`` (what was started),
``processes`` (pid bookkeeping).
"""
