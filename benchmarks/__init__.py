"""Benchmark suite for liter-llm: see benchmarks/README.md."""
