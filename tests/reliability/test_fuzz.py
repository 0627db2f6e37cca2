"""Property-based fuzzing (hypothesis) of what reads untrusted input: the manifest reader
(`load_manifest_file`, `read_folder`), the whole add path behind it, and the metric series
checker. Whatever the bytes, the answer is a result or a ModelyardError, never another
exception and never a hang. The query parser has its own fuzz test in tests/test_query.py.

Found examples stick twice over: hypothesis keeps every failing example in this checkout's
example database (.hypothesis/, git-ignored) and replays it first until it passes, and each
bug found is pinned with an @example, which every checkout runs.
"""

from __future__ import annotations

import json
import math
import tempfile
import warnings
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from modelyard.store import Store
from modelyard.store.errors import ModelyardError
from modelyard.store.ingest.manifest import load_manifest_file, read_folder
from modelyard.store.ingest.writer import json_safe
from modelyard.store.series import frames as series
from modelyard.store.versions.card import check_card

from helpers import FUZZ_EXAMPLES

pytestmark = pytest.mark.reliability

FUZZ = settings(max_examples=150, deadline=None, database=FUZZ_EXAMPLES,
                suppress_health_check=list(HealthCheck))
KEYS = ["user", "host", "started_at", "ended_at", "status", "run_id", "role", "name", "uri",
        "digest", "rows", "size", "ref", "relation", "fpr", "tpr", "auc", "precision",
        "recall", "labels", "matrix", "features", "importance", "type", "framework",
        "framework_version", "signature", "inputs", "outputs", "resources", "files",
        "entrypoint", "git", "diff", "diff_file", "steps", "values", "timestamps", "roc", "pr",
        "confusion_matrix", "feature_importance", "feature_stats", "param_count", "w.bin",
        "loss"]
FIELDS = ["model", "description", "tags", "training", "params", "features", "datasets",
          "parents", "metrics", "charts", "summary", "serving", "origin", "metric_series",
          "files", "source", "format"]
LEAVES = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**62)
          | st.floats() | st.text(max_size=12)
          | st.sampled_from(["nan", "-inf", "2026-01-01T00:00:00Z", "2026-13-45", "a:1",
                             "../x", "/etc/passwd", "file:///etc/passwd", "w.bin", "x@y",
                             "\x1b[31m", "\u202e", "\ud800", "[bold]", "", " "]))
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner,
                                        max_size=5), max_leaves=25)
MANIFESTS = st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=7)
YAMLISH = st.text(alphabet="{}[]:,-&*!|>'\"#%@`\n\t ab1.?~=\\\x00\x85\ufeff", max_size=200)


def _folder(base: Path) -> Path:
    folder = Path(tempfile.mkdtemp(dir=base))
    (folder / "w.bin").write_bytes(b"weights")
    return folder


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _canonical(value: object) -> str:
    """Equal for equal JSON-like values, NaN included (NaN != NaN)."""
    return json.dumps(value, sort_keys=True, default=repr)


@FUZZ
@given(raw=st.binary(max_size=300) | YAMLISH.map(str.encode)
       | MANIFESTS.map(lambda m: json.dumps(m).encode()), as_json=st.booleans())
def test_manifest_files_are_read_as_their_parser_reads_them(base: Path, raw: bytes,
                                                            as_json: bool) -> None:
    path = _folder(base) / ("modelyard.json" if as_json else "modelyard.yaml")
    path.write_bytes(raw)
    try:
        data = load_manifest_file(path)
    except ModelyardError as exc:
        assert path.name in str(exc)  # the message names the file at fault
        event("refused")
        return
    assert isinstance(data, dict)
    text = raw.decode("utf-8", "replace")
    try:  # what the plain parser makes of it, where it accepts it
        plain = json.loads(text) if as_json else yaml.safe_load(text)
    except Exception:  # noqa: BLE001 - any refusal: then ours must refuse or agree
        event("read; the plain parser refuses it")
        return
    event("read as the plain parser reads it")
    assert _canonical(data) == _canonical(plain)


@FUZZ
@given(manifest=MANIFESTS, as_yaml=st.booleans())
@example(manifest={"files": ["\ud800"]}, as_yaml=False)  # UnicodeEncodeError in safe_relpath
def test_manifests_are_stored_as_read_or_refused_without_a_trace(base: Path, manifest: dict,
                                                                 as_yaml: bool) -> None:
    folder = _folder(base)
    if as_yaml:
        try:
            text = yaml.safe_dump(manifest, allow_unicode=True)
        except (yaml.YAMLError, UnicodeEncodeError):
            return
        (folder / "modelyard.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    else:
        (folder / "modelyard.json").write_text(json.dumps(manifest))
    store = Store.open(base / "store") if (base / "store").exists() else Store.init(
        base / "store")
    try:
        before = store.count("")
        try:
            fv = read_folder(folder)
            added = store.add_version(fv.model, files=fv.files,
                                      metric_series=fv.metric_series, source=fv.source,
                                      **fv.card)
        except ModelyardError as exc:
            assert str(exc)
            assert store.count("") == before  # a refusal leaves no version behind
            event("refused")
            return
        event("stored")
        got = store.get(added.ref)
        assert sorted(f["path"] for f in got.record["files"]) == sorted(fv.files)
        for name, data in ((f["path"], f) for f in got.record["files"]):
            assert got.open(name) == fv.files[name].read_bytes()
            assert data["size"] == fv.files[name].stat().st_size
        card = json_safe(check_card(fv.card))  # the fields as the writer normalizes them
        for key in ("description", "tags", "params", "training", "parents"):  # metrics: + curves
            assert _canonical(got.record.get(key)) == _canonical(card.get(key)), key
    finally:
        store.close()


POINT = (st.floats() | st.integers() | st.booleans() | st.none() | st.text(max_size=5)
         | st.sampled_from(["nan", "inf", "-Infinity"]))
CURVES = st.dictionaries(
    st.text(max_size=8),
    st.lists(POINT, max_size=8)
    | st.lists(st.lists(POINT, min_size=1, max_size=4), max_size=6)
    | st.dictionaries(st.sampled_from(["steps", "values", "timestamps"]),
                      st.lists(POINT, max_size=5) | POINT, max_size=3),
    max_size=4)


@FUZZ
@given(curves=CURVES)
def test_metric_series_are_checked_not_crashed_on(curves: dict) -> None:
    try:
        frame = series.normalize_series(curves)
    except ModelyardError:
        return
    summary = series.summarize(frame)
    assert sum(s["points"] for s in summary.values()) == frame.height
    steps = frame["step"].to_list()
    keys = frame["key"].to_list()
    assert list(zip(keys, steps, strict=True)) == sorted(zip(keys, steps, strict=True))
    assert all(v is None or isinstance(v, float) or math.isnan(v) for v in
               frame["value"].to_list())


MEMBER_NAMES = st.text(alphabet="ab./\\\x00\x1b\u202e-", max_size=10)
MEMBERS = st.lists(st.tuples(MEMBER_NAMES, st.sampled_from(["file", "dir", "sym", "hard"])),
                   max_size=6)


def _archive(members: list[tuple[str, str]], kind: str) -> bytes:
    import tarfile
    import zipfile

    from reliability_kit import tar_bytes, tar_entry, zip_bytes

    if kind == "zip":
        entries = []
        for name, what in members:
            info = zipfile.ZipInfo(name + ("/" if what == "dir" else ""))
            info.external_attr = {"sym": 0o120777, "hard": 0o100644, "dir": 0o40755,
                                  "file": 0o100644}[what] << 16
            entries.append((info, b"../../x" if what == "sym" else b"data"))
        return zip_bytes(entries)
    types = {"sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE, "dir": tarfile.DIRTYPE}
    return tar_bytes([tar_entry(n, types[w], "../../x") if w in types else (n, b"data")
                      for n, w in members])


@FUZZ
@given(members=MEMBERS, kind=st.sampled_from(["tar.gz", "zip"]), cut=st.integers(0, 40))
def test_archives_unpack_inside_their_claim_or_are_refused(base: Path, members: list,
                                                          kind: str, cut: int) -> None:
    import os

    from modelyard.store.ingest import archives
    from modelyard.store.ingest.claims import Claim

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicates we want
            data = _archive(members, kind)
    except Exception:  # noqa: BLE001 - a member the archive library itself cannot write
        return
    claim_dir = Path(tempfile.mkdtemp(dir=base))
    dropped = claim_dir / f"fuzz.{kind}"
    dropped.write_bytes(data[: len(data) - cut] if cut else data)
    try:
        folder = archives.unpack(Claim(claim_dir, dropped, base, dropped.name))
    except ModelyardError:
        return
    inside = os.path.realpath(claim_dir)
    for path in folder.rglob("*"):
        assert not path.is_symlink()
        assert os.path.realpath(path).startswith(inside + os.sep)
    assert not (base / "x").exists()
