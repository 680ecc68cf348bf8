"""The bench's entry point for stacks whose config is past the engine's limit (bench/stack.py explains the limit).

Puts `bcsi:licenses` and `bcsi:roles` from config.json (beside this file) into the program's config, as the
engine would have from the stack file, then runs the real program, provisioning/__main__.py, unchanged.
"""
import json
import runpy
from pathlib import Path

import pulumi.runtime.config as runtime_config

HERE = Path(__file__).resolve().parent
for key, value in json.loads((HERE / "config.json").read_text()).items():
    runtime_config.set_config(key, value)
runpy.run_path(str(HERE.parent / "provisioning" / "__main__.py"), run_name="__main__")
