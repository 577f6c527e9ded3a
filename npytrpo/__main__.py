"""``python -m npytrpo``: the command-line interface (``npytrpo.tools.cli``)."""

import sys

from npytrpo.tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
