"""The emulated test-bed: accelerator models, vendor tools and the launcher.

Kept import-free on purpose: every emulated tool invocation is a fresh Python process
(the node's ``furiosa-smi`` wrapper runs ``python -S -c``), so this package must cost nothing to load.

Modules, bottom up::

    jsontext    JSON through ``_json`` alone (``import json`` costs a tool call ~15 ms)
    noise       deterministic noise from a hash of (seed, keys) — no RNG state
    defaults    emulator figures for catalog nulls (labelled synthetic)
    spec        the node spec JSON the launcher writes (devices, faults, seed, time scale)
    thermal     first-order thermal model, integrated analytically
    faults      which injected faults are active at an emulated time
    workload    service time per inference and its ground truth
    device      one card's state (power, temperature, throttle, errors) at an emulated time
    state       the node directory: spec + mutable state under an fcntl lock
    ownership   exclusive device ownership by pid (process isolation)
    reference   the smoke-test reference computation (importable without any state)
    tools/      the vendor command-line programs and the ``npu-workload`` runner
    testbed/    the launcher behind ``lab testbed up|status|down``
"""
