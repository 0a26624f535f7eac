"""The readers behind :func:`rapheunit.io.load.load`, one concern per module.

:mod:`rapheunit.io.load` chooses a reader, runs it and checks what it found; the
modules here do the reading:

* :mod:`~rapheunit.io.readers.filecheck`: what a file holds before any reader
  opens it (signatures, pickles, truncated headers);
* :mod:`~rapheunit.io.readers.limits`: the resource limits, and the sizes that
  are estimated before anything large is read;
* :mod:`~rapheunit.io.readers.table`: ``unit,time_s`` spike tables;
* :mod:`~rapheunit.io.readers.neo_files`: files read through a neo IO class;
* :mod:`~rapheunit.io.readers.neo_block`: a neo ``Block`` turned into units and markers;
* :mod:`~rapheunit.io.readers.nwb`: NWB files, through pynwb first;
* :mod:`~rapheunit.io.readers.content`: :class:`RawContent`, what every reader returns.
"""
