"""Chaos runs: vastplan as a subprocess against a sandbox subprocess, under kills, lost answers,
429/5xx storms and a second apply racing the first, with everything counted in the sandbox.

``python -m tests.chaos [--trials N] [--quick] [--seed S]`` runs the four scenarios and prints their
figures; ``tests/chaos/test_chaos.py`` runs small versions of them in the suite.

Modules: ``harness`` (the sandbox process, vastplan runs, the census of what the sandbox holds),
``stacks`` (the stack files), ``figures`` (the table), and one module per scenario: ``kills``,
``lost_responses``, ``storm``, ``lock_race``.
"""
