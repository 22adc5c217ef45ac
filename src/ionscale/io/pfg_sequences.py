"""Names of the PFG pulse sequences ionscale models (``--sequence``), in a module of their own
so that the command line can list them without loading the Bruker reader."""

SEQUENCES = ("spin-echo", "stimulated", "bipolar", "double-stimulated", "double-bipolar")
