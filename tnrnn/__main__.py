"""``python -m tnrnn``: same as the ``tnrnn`` command."""

import sys

from tnrnn.cli import main

sys.exit(main())
