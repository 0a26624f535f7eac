"""The ground floor: the data model, errors and validators, epochs and the marker grammar.

Nothing here imports any other part of rapheunit; times are float seconds.
"""
