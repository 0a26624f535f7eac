"""Spike detection and sorting for continuous signals, and raw binary files.

Imports only :mod:`rapheunit.core`; readers in :mod:`rapheunit.io` call it.
"""
