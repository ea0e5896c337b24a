"""107-05 gpuperf: profile a training loop, say what bounds it, and make it fast one switch at a
time, each with a measured before/after and a check that the numbers it computes did not change.
"""

__version__ = "0.1.0"
