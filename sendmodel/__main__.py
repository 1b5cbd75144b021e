"""__main__."""

from sendmodel.cli.main import main

raise SystemExit(main())
