"""The emulated vendor tools, one module each, run as ``python -m lab.emulator.tools.NAME``.

The launcher writes a wrapper script per tool into each node's ``bin/`` (named like the
real program: ``furiosa-smi``, ``rbln-smi``, ``nvidia-smi`` ...). Imports stay minimal
(json, fcntl, no YAML/paramiko): each invocation is a fresh process.
"""
