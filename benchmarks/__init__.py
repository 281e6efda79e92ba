"""Benchmarks: each module measures one thing and prints figures; none asserts a speed."""
