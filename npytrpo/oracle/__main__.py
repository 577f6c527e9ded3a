"""``python -m npytrpo.oracle …``: the same as ``npytrpo oracle …``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
