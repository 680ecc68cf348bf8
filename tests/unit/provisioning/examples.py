"""A copy of the project's example stacks with stand-ins for the files they name (a solution package, the prod
certificate): the stacks are checked here, not the files' contents."""
from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SAMPLE_ZIP = "solutions/BcSalesIntegrationSample_1_0_0_0.zip"
PROD_CERTIFICATE = "certificates/bc-sales-integration-prod.pem"   # stacks/Pulumi.prod.yaml, marked REPLACE


def copy_examples(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    for stand_in, content in ((SAMPLE_ZIP, b"PK\x05\x06" + b"\0" * 18),
                              (PROD_CERTIFICATE, b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")):
        (tmp_path / stand_in).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / stand_in).write_bytes(content)
    return tmp_path
