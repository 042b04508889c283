"""Plan jobs: the runner interface and its in-process implementation."""
