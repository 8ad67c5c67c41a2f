"""`python -m hooks` is the `kubehooks` command."""

from hooks.cli import main

raise SystemExit(main())
