"""Readers and writers, one module per family of formats.

===============================  ====================================================
module                           formats
===============================  ====================================================
:mod:`ionscale.io.sims`          SIMS line scans, depth profiles (delimited text,
                                 IONTOF ASCII) and maps (text matrices, TIFF)
:mod:`ionscale.io.nmr`           PFG tables, Bruker PFG experiments, relaxation tables
:mod:`ionscale.io.eis`           impedance: one entry point and the format table
                                 (:data:`ionscale.io.eis.FORMATS`)
:mod:`ionscale.io.eis_formats`   impedance text formats (Gamry, EC-Lab, ZPlot, Autolab,
                                 Parstat, CHI, VersaStudio, PowerSuite, Novocontrol,
                                 RelaxIS, CSV)
:mod:`ionscale.io.biologic_mpr`  BioLogic binary ``.mpr``
:mod:`ionscale.io.volume`        3D volumes: TIFF stacks, HDF5/Ilastik, zarr, raw, zip
:mod:`ionscale.io.text`          delimited-text helpers shared by every text reader
:mod:`ionscale.io.atomic`        atomic writes (temporary file + rename)
===============================  ====================================================
"""
