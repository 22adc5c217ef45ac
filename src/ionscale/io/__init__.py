"""Readers and writers, one module per family of formats.

==========================  =======================================================
module                      formats
==========================  =======================================================
:mod:`ionscale.io.sims`     SIMS line scans, depth profiles (delimited text, IONTOF
                            ASCII) and maps (text matrices, TIFF)
:mod:`ionscale.io.text`     delimited-text helpers shared by every text reader
:mod:`ionscale.io.atomic`   atomic writes (temporary file + rename)
==========================  =======================================================
"""
