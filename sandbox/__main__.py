"""`python -m sandbox serve ...`, the same as `bcsi sandbox serve ...`."""
from sandbox.cli import sandbox

if __name__ == "__main__":
    sandbox(prog_name="python -m sandbox")
