"""The application around the math: the command line (cli), checkpoints, downloads, atomic
file writes, progress lines and the run's figures. Nothing here is needed to read or check
the model; the math of minivae lives one folder up, and imports from here only to save a
file atomically (plots), fetch a dataset (datasets) or print how long a run has left (train).
"""
