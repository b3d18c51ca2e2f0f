"""TEST DOUBLE of ``furiosa.runtime`` (FuriosaRT); only ``furiosa.runtime.sync`` is doubled.

__version__ says it is a double, so ``lab node check`` output shows it for what it is.
"""

__version__ = "0.10.0+test-double"
