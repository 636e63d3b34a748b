"""``python -m pksim`` runs the command line."""

import sys

from pksim.cli import main

sys.exit(main())
