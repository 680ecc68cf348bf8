"""Solution packages: what an import reads from the zip, and the errors Dataverse gives for bad ones."""
import importlib.util
import io
import zipfile
from pathlib import Path

import pytest

from sandbox.dataverse.errors import package_refused
from solution_import.package import PackageError, parse
from solution_import.versions import version_tuple

ROOT = Path(__file__).resolve().parents[3]
SOLUTIONS = ROOT / "solutions"


def _build_script():
    """scripts/build_solutions.py (a script, not a package module), loaded by path."""
    spec = importlib.util.spec_from_file_location("build_solutions", ROOT / "scripts" / "build_solutions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_solutions = _build_script()


def _refusal(data: bytes):
    """What the sandbox's ImportSolution answers for a package parse() refuses."""
    with pytest.raises(PackageError) as caught:
        parse(data)
    return package_refused(caught.value)


def _zip(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _parts(**overrides):
    source = SOLUTIONS / "src" / "BcSalesIntegrationSample_1_0_0_0"
    parts = {p.name: p.read_text() for p in source.iterdir()}
    parts.update(overrides)
    return {k: v for k, v in parts.items() if v is not None}


def test_sample_packages_declare_name_version_and_fixed_role_ids():
    v1 = parse((SOLUTIONS / "BcSalesIntegrationSample_1_0_0_0.zip").read_bytes())
    v11 = parse((SOLUTIONS / "BcSalesIntegrationSample_1_1_0_0.zip").read_bytes())
    assert (v1.unique_name, v1.version, v11.version) == ("BcSalesIntegrationSample", "1.0.0.0", "1.1.0.0")
    assert v1.managed and v1.publisher == "bcsi"
    assert {r.name: r.role_id for r in v1.roles} == {
        "Dynamics 365 Business Central Integration Administrator": "8c8d4f51-a72b-e511-80d9-3863bb349780",
        "Dynamics 365 Business Central Integration User": "6f960e32-a72b-e511-80d9-3863bb349780",
        "Dynamics 365 Business Central Product Availability User": "e1f0c3a4-5b6d-4c7e-8f90-a1b2c3d4e5f6",
    }
    assert not v1.missing_dependencies


def test_broken_sample_names_its_missing_dependency():
    addon = parse((SOLUTIONS / "BcSalesIntegrationSampleAddOn_1_0_0_0.zip").read_bytes())
    (dep,) = addon.missing_dependencies
    assert dep.schema_name == "bcsi_itemavailability"
    assert dep.solution_unique_name == "BcSalesIntegrationPrerequisites"


def test_committed_zips_match_their_sources(tmp_path):
    for source in (SOLUTIONS / "src").iterdir():
        assert build_solutions.build_package(source) == (SOLUTIONS / f"{source.name}.zip").read_bytes(), source.name


@pytest.mark.parametrize("data", [b"not a zip", b"", _zip(_parts(**{"customizations.xml": None})),
                                  _zip(_parts(**{"[Content_Types].xml": None}))])
def test_not_a_zip_or_missing_parts_is_dataverses_bad_zip_error(data):
    refusal = _refusal(data)
    assert refusal.code == "0x80048060"
    assert "must contain the following files at its root" in refusal.message


@pytest.mark.parametrize("solution_xml", ["<ImportExportXml><SolutionManifest>", "<ImportExportXml/>",
                                          "<ImportExportXml><SolutionManifest><UniqueName>X</UniqueName>"
                                          "<Version>one</Version></SolutionManifest></ImportExportXml>"])
def test_bad_manifest_is_invalid_xml(solution_xml):
    assert _refusal(_zip(_parts(**{"solution.xml": solution_xml}))).code == "0x8004802c"


def test_versions_compare_numerically():
    assert version_tuple("1.10.0.0") > version_tuple("1.9.0.0")


def test_build_cli_rebuilds_into_a_folder(tmp_path):
    (tmp_path / "src").mkdir()
    source = SOLUTIONS / "src" / "BcSalesIntegrationSample_1_0_0_0"
    target = tmp_path / "src" / source.name
    target.mkdir()
    for part in source.iterdir():
        (target / part.name).write_bytes(part.read_bytes())
    assert build_solutions.main(["build", str(tmp_path)]) == 0
    assert (tmp_path / f"{source.name}.zip").read_bytes() == (SOLUTIONS / f"{source.name}.zip").read_bytes()
    assert build_solutions.main(["nonsense"]) == 2
