"""Kept for bench/confirmation_stripe.py, which starts localstripe by this path: the server
lives in tests/support/localstripe_server.py. Remove once the benchmark points there.

Usage: python localstripe_server.py --port PORT
"""

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(
        str(Path(__file__).resolve().parents[1] / "support" / "localstripe_server.py"),
        run_name="__main__",
    )
