"""kcloud-lab: certification lab automation for the K-Cloud NPU test-bed.

Layers, each importing only the ones before it::

    inventory  (frozen, validated data)
    transport  (SSH / local / fake command execution)
    devices, emulator  (vendor tool adapters; the emulated test-bed)
    criteria   (measurements and verdicts)
    results    (the run record)
    report, history  (views of the record)
    pytest_plugin, cli  (the top)
"""

__version__ = "0.1.0"
