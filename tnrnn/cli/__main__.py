"""``python -m tnrnn.cli``: same as the ``tnrnn`` command."""

import sys

from tnrnn.cli import main

sys.exit(main())
