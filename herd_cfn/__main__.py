"""``python -m herd_cfn``: the same as the ``herd-cfn`` command."""

import sys

from herd_cfn.cli import main

sys.exit(main())
