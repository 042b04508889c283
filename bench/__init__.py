"""Benchmarks of bookplan against the tools CS teams use today and against proven bounds."""
