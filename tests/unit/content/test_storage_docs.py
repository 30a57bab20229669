"""The README's word on storage matches the code: local disk is the one storage; S3 is the interface only."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_readme_offers_s3_as_the_interface_only_and_no_s3_code_ships() -> None:
    readme = (ROOT / "README.md").read_text()
    bullets = [b for b in re.split(r"\n(?=- \*\*)", readme) if "S3" in b]
    assert len(bullets) == 1, "S3 is described in one place"
    said = " ".join(bullets[0].split())
    assert "Only local disk is implemented: S3 exists as that interface alone" in said
    assert "no S3 storage or client ships" in said
    sources = [*(ROOT / "app").rglob("*.py"), ROOT / "pyproject.toml"]
    s3_code = [p.name for p in sources if re.search(r"\b(boto3?|botocore|aiobotocore|s3fs)\b", p.read_text())]
    assert s3_code == []
