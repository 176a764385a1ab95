"""Benchmarks on a city-sized dataset (`make bench`)."""
