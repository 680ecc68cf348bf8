"""The package reader and version comparison (no I/O beyond temp files)."""
import hashlib
import zipfile
from pathlib import Path

import pytest

from solution_import.package import PackageError, read_package
from solution_import.versions import VersionError, compare_versions, parse_version

SOLUTIONS = Path(__file__).resolve().parents[3] / "solutions"
SAMPLE_10 = SOLUTIONS / "BcSalesIntegrationSample_1_0_0_0.zip"
SAMPLE_11 = SOLUTIONS / "BcSalesIntegrationSample_1_1_0_0.zip"


def test_reads_name_version_sha_and_roles():
    package = read_package(SAMPLE_11)
    assert package.unique_name == "BcSalesIntegrationSample"
    assert package.version == "1.1.0.0"
    assert package.sha256 == hashlib.sha256(SAMPLE_11.read_bytes()).hexdigest()
    assert {(r.role_id, r.name) for r in package.roles} >= {
        ("8c8d4f51-a72b-e511-80d9-3863bb349780", "Dynamics 365 Business Central Integration Administrator"),
        ("6f960e32-a72b-e511-80d9-3863bb349780", "Dynamics 365 Business Central Integration User"),
    }
    assert read_package(SAMPLE_10).version == "1.0.0.0"


def test_missing_file_is_one_clear_line(tmp_path):
    with pytest.raises(PackageError, match="not found") as err:
        read_package(tmp_path / "nope.zip")
    assert "\n" not in str(err.value)


def test_not_a_zip(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_text("hello")
    with pytest.raises(PackageError, match="not a valid Dataverse solution"):
        read_package(bad)


def test_zip_without_solution_xml(tmp_path):
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "x")
    with pytest.raises(PackageError, match="solution.xml"):
        read_package(empty)


def test_truncated_zip_is_reported_as_corrupt(tmp_path):
    cut = tmp_path / "cut.zip"
    cut.write_bytes(SAMPLE_10.read_bytes()[:200])
    with pytest.raises(PackageError, match=str(cut)):
        read_package(cut)


def test_corrupt_member_is_reported(tmp_path):
    data = bytearray(SAMPLE_10.read_bytes())
    with zipfile.ZipFile(SAMPLE_10) as archive:
        info = archive.getinfo("solution.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start, start + min(20, info.compress_size)):
        data[i] ^= 0xFF
    broken = tmp_path / "broken.zip"
    broken.write_bytes(bytes(data))
    with pytest.raises(PackageError) as err:
        read_package(broken)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("wanted,installed,order", [
    ("1.1.0.0", "1.0.0.0", 1), ("1.0.0.0", "1.0.0.0", 0), ("1.0", "1.0.0.0", 0),
    ("1.9.0.0", "1.10.0.0", -1), ("2.0.0.0", "1.99.99.99", 1),
])
def test_versions_compare_numerically(wanted, installed, order):
    assert compare_versions(wanted, installed) == order


@pytest.mark.parametrize("text", ["", "1", "1.a", "1.0.0.0.0", "v1.0"])
def test_bad_versions(text):
    with pytest.raises(VersionError):
        parse_version(text)


def test_one_content_is_parsed_once_a_changed_file_again(tmp_path):
    """The program, the role ids and the solution resource all read the package in one run: one parse, not three."""
    package = tmp_path / "solution.zip"
    package.write_bytes(SAMPLE_10.read_bytes())
    first = read_package(package)
    assert read_package(str(package)) is first
    package.write_bytes(SAMPLE_11.read_bytes())
    assert read_package(package).version == "1.1.0.0"
