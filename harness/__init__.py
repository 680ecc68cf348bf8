"""Runs this project's parts as users do -- the sandbox as a subprocess, the Pulumi engine on a project copy --
for the tests and the benchmarks alike (the tests' pytest fixtures stay in tests/)."""
