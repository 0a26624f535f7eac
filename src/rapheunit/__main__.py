"""``python -m rapheunit`` runs the command-line interface."""

from rapheunit.cli import run

if __name__ == "__main__":
    run()
