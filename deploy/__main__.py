"""`python -m deploy …` is the `mlops` command (for environments without the console script)."""

from deploy.cli.app import main

raise SystemExit(main())
