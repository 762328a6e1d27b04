"""genqueue's benchmarks: each row measures genqueue beside a baseline in one run.

See README.md ("Benchmarks") for how to run them and BENCHMARKS.md for the latest
full table.
"""
