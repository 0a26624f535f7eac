"""``python -m rapheunit`` runs the command-line interface."""

from rapheunit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
