"""Scenario sweeps: many seeded runs over a parameter design, stored in DuckDB.

* :mod:`defection.sweep.spec`: the sweep file (TOML), its validation and its design (grid, Latin
  hypercube or Sobol, drawn with SALib), run ids and seeds.
* :mod:`defection.sweep.engine`: one run as a task, and the serial, process-pool and Dask backends.
* :mod:`defection.sweep.store`: the results database (one writer: the coordinator).
* :mod:`defection.sweep.report`: plots and a Markdown summary from the database.
"""
