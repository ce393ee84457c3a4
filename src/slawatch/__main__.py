from slawatch.cli import main

raise SystemExit(main())
