"""vime's benchmarks: `python -m benchmarks` measures vime against its baselines.

See benchmarks/__main__.py for the options and benchmarks/RESULTS.md for the
last full run. Nothing heavy is imported here: the child processes import
this package too, and their memory must be their operation's own.
"""
