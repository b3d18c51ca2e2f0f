"""``python -m lab.agent REQUEST.json`` (the zipapp's own ``__main__`` calls the same)."""

import sys

from .main import run

sys.exit(run(sys.argv[1:]))
