"""``python -m scripts.bench``: see the package doc."""

import sys

from scripts.bench.run import main

sys.exit(main())
