"""One translation of YAML and JSON parser errors into words (store/safe_yaml.parse), shared
by manifests and the files importers read: the same text gets the same message."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.store.errors import InvalidManifest
from modelyard.store.ingest.manifest import load_manifest_file
from modelyard.store.ingest.safe_read import load_json_text, load_yaml_text

CASES = [
    ("yaml", "a: [1, 2\n", "is not valid YAML at line 2 column 1"),
    ("yaml", "a: &x 1\nb: *x\n", "YAML aliases (*x) are not allowed"),
    ("yaml", "a: !!python/object/apply:os.system ['true']\n",
     "uses the YAML tag !!python/object/apply:os.system (line 1), which builds program objects"),
    ("yaml", "a: 2026-13-45\n", "is not valid YAML: month must be in 1..12"),
    ("yaml", "a: " + "[" * 2000 + "]" * 2000 + "\n", "nested too deeply to read"),
    ("json", '{"a": [1, 2}', "is not valid JSON: Expecting ',' delimiter at line 1 column 12"),
    ("json", "[" * 100_000 + "]" * 100_000, "nested too deeply to read"),
]


@pytest.mark.parametrize(("kind", "text", "words"), CASES)
def test_manifests_and_imported_files_say_the_same(tmp_path: Path, kind: str, text: str,
                                                   words: str) -> None:
    path = tmp_path / f"modelyard.{kind}"
    path.write_text(text)
    with pytest.raises(InvalidManifest) as manifest:
        load_manifest_file(path)
    with pytest.raises(InvalidManifest) as imported:
        (load_json_text if kind == "json" else load_yaml_text)(text, path.name)
    assert words in str(manifest.value)
    assert str(manifest.value) == str(imported.value)
    assert str(manifest.value).startswith(path.name)
