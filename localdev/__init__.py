"""Local sandbox: Slack stand-in, template-driven AWS emulation, local API gateway."""

import sys
from pathlib import Path

# The sandbox runs the shared layer as Lambda finds it (/opt/python): its source folder goes on sys.path, so that
# `python -m localdev.run` (make run, enqueue, digest) works from a plain checkout, as pytest's `pythonpath` does.
_SHARED_LAYER = str(Path(__file__).resolve().parents[1] / "layers" / "shared" / "python")
if _SHARED_LAYER not in sys.path:
    sys.path.append(_SHARED_LAYER)
