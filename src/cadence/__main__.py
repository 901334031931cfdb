"""`python -m cadence` runs the `cadence` command."""

from cadence.cli import main

raise SystemExit(main())
