"""The policy pack `bcsi-policies`: serves the policies of `policies.pack` to the Pulumi engine."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the engine runs the pack from its own folder

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.pack import policies  # noqa: E402

PolicyPack(name="bcsi-policies", enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
