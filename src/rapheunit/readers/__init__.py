"""The readers behind :func:`rapheunit.load.load`, one concern per module.

:mod:`rapheunit.load` chooses a reader, runs it and checks what it found; the
modules here do the reading:

* :mod:`~rapheunit.readers.filecheck`: what a file holds before any reader
  opens it (signatures, pickles, truncated headers);
* :mod:`~rapheunit.readers.limits`: the resource limits, and the sizes that
  are estimated before anything large is read;
* :mod:`~rapheunit.readers.table`: ``unit,time_s`` spike tables;
* :mod:`~rapheunit.readers.neo_files`: files read through a neo IO class;
* :mod:`~rapheunit.readers.neo_block`: a neo ``Block`` turned into units and markers;
* :mod:`~rapheunit.readers.nwb`: NWB files, through pynwb first;
* :mod:`~rapheunit.readers.content`: :class:`RawContent`, what every reader returns.
"""
