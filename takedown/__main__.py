"""``python -m takedown``: the same as the ``takedown`` command."""

from takedown.cli import main

main()
