from kubeward.cli import main

raise SystemExit(main())
