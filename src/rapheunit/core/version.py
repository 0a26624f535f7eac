"""The package version, read once from the installed distribution's metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("rapheunit")
except PackageNotFoundError:  # a source tree on sys.path without an install
    VERSION = "0+unknown"
