"""The emulated vendor tools, one module each, run as ``python -m lab.emulator.tools.NAME``.

The launcher writes a wrapper script per tool into each node's ``bin/`` (named like the
real program: ``furiosa-smi``, ``rbln-smi``, ``nvidia-smi`` ...) that calls the module's
``cli()`` through ``python -S -c`` (``-m`` would load runpy: ~8 ms of CPU per call). Each
invocation is a fresh process, so imports stay minimal: no ``json`` (``lab.emulator.jsontext``),
``typing``, ``collections``, ``contextlib``, ``re`` or ``enum``, no YAML/paramiko.
"""
