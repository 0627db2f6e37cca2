"""Deployment specs serve the right model: one name and one storage path per model version,
stable, and values KServe or Kubernetes would refuse are refused here, naming the field.

Validated against KServe's real InferenceService schema (tests/kserve/, v0.20.0)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from modelyard.store import Store
from modelyard.store.demo import files as df
from modelyard.store.versions.kserve_runtimes import SHIPPED_RUNTIMES
from modelyard.store.versions.serving import RUNTIMES, DeployRefused, dns_name

KSERVE = Path(__file__).parent / "kserve"
SCHEMA = json.loads((KSERVE / "inferenceservice_v1beta1_schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LONG = "a-very-long-model-name-shared-by-two-teams-"  # 43 characters
# ("Model", "model", "MODEL") can no longer be made: add_version refuses case-only clashes
COLLIDING = [("resnet_50", "resnet-50", "ResNet.50"), (LONG + "alpha", LONG + "beta"),
             ("日本語モデル", "model"), ("Churn-A", "churn_a")]


def _spec(store: Store, ref: str) -> dict:
    spec = yaml.safe_load(store.deploy_spec(ref))
    VALIDATOR.validate(spec)
    return spec


def _sklearn(store: Store, model: str, **serving) -> str:
    return store.add_version(model, files={"model.pkl": b"\x80\x04N."},
                             serving={"framework": "sklearn", **serving}).ref


def test_the_schema_fixture_is_kserve_s_own_with_its_source() -> None:
    source = SCHEMA["x-modelyard-source"]
    assert source["repository"] == "https://github.com/kserve/kserve"
    assert source["path"] == "config/crd/full/serving.kserve.io_inferenceservices.yaml"
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    assert "predictor" in SCHEMA["properties"]["spec"]["properties"]
    with pytest.raises(jsonschema.ValidationError):  # it does refuse things
        VALIDATOR.validate({"apiVersion": "serving.kserve.io/v1beta1",
                            "kind": "InferenceService", "spec": {}})


@pytest.mark.parametrize("names", COLLIDING, ids=lambda n: "/".join(n))
def test_names_that_sanitize_alike_get_distinct_names_and_storage(store: Store,
                                                                 names: tuple) -> None:
    specs = [_spec(store, _sklearn(store, name)) for name in names]
    labels = [s["metadata"]["name"] for s in specs]
    uris = [s["spec"]["predictor"]["model"]["storageUri"] for s in specs]
    assert len(set(labels)) == len(names), labels
    assert len(set(uris)) == len(names), uris
    for label, name in zip(labels, names, strict=True):
        assert DNS_1035.match(label) and len(label) <= 45, label
        assert dns_name(name, 1) == label  # stable: the same name always gives the same
        if label != f"{name}-v1":  # changed by sanitizing: carries the exact name's digest
            assert hashlib.sha256(name.encode()).hexdigest()[:12] in label


def test_a_clean_name_is_kept_and_a_name_shaped_like_a_digest_cannot_steal_one(
        store: Store) -> None:
    assert dns_name("churn-xgb", 3) == "churn-xgb-v3"
    forged = dns_name("ResNet.50", 1)[:-len("-v1")]  # resnet-50-<digest of ResNet.50>
    assert dns_name(forged, 1) != dns_name("ResNet.50", 1)


def test_versions_of_one_model_get_their_own_names(store: Store) -> None:
    refs = [_sklearn(store, "ResNet.50", cpu=n) for n in (1, 2)]
    assert len({_spec(store, r)["metadata"]["name"] for r in refs}) == 2


@pytest.mark.parametrize("serving, field", [
    ({"resources": {"gpu": "0.5"}}, "serving.resources.gpu"),
    ({"resources": {"gpu": 1.5}}, "serving.resources.gpu"),
    ({"resources": {"cpu": -1}}, "serving.resources.cpu"),
    ({"resources": {"memory": "-4Gi"}}, "serving.resources.memory"),
    ({"resources": {"memory": "lots"}}, "serving.resources.memory"),
    ({"runtime": "kserve-my runtime"}, "serving.runtime"),
    ({"runtime": "kserve-$(touch /tmp/pwned)"}, "serving.runtime"),
    ({"runtime": "kserve-tritonserver"}, "serving.runtime"),  # does not serve sklearn
])
def test_values_kubernetes_would_refuse_are_refused_naming_the_field(
        store: Store, serving: dict, field: str) -> None:
    ref = _sklearn(store, "churn", **serving)
    with pytest.raises(DeployRefused, match=re.escape(field)):
        store.deploy_spec(ref)


def test_whole_gpus_and_own_runtimes_pass(store: Store) -> None:
    model = _spec(store, _sklearn(store, "churn", resources={"gpu": 2, "cpu": "+1"},
                                  runtime="kserve-team.sklearn-v2"))["spec"]["predictor"]["model"]
    assert model["resources"]["limits"] == {"cpu": "1", "nvidia.com/gpu": "2"}
    assert model["runtime"] == "kserve-team.sklearn-v2"


@pytest.mark.parametrize("files, fmt", [
    ({"model.safetensors": df.safetensors_bytes(df.vit_tensors(2), {})}, "safetensors"),
    ({"model.gguf": b"GGUF\x03\x00\x00\x00" + bytes(64)}, "gguf"),
])
def test_a_format_no_shipped_runtime_serves_is_refused(store: Store, files: dict,
                                                       fmt: str) -> None:
    ref = store.add_version(f"weights-{fmt}", files=files).ref
    with pytest.raises(DeployRefused, match=rf"modelFormat would be '{fmt}'.*kserve-"):
        store.deploy_spec(ref)
    own = store.add_version(f"weights-{fmt}", files=files,
                            serving={"runtime": "kserve-llamacpp"}, dedupe=False).ref
    assert _spec(store, own)["spec"]["predictor"]["model"]["runtime"] == "kserve-llamacpp"


def test_the_runtime_table_is_kserve_s_shipped_runtimes() -> None:
    extract = json.loads((KSERVE / "cluster_serving_runtimes.json").read_text())
    assert extract["x-modelyard-source"]["commit"] == SCHEMA["x-modelyard-source"]["commit"]
    shipped = {name: tuple(sorted({f["name"] for f in r["supportedModelFormats"]}))
               for name, r in extract["runtimes"].items()}
    assert SHIPPED_RUNTIMES == shipped
    for fmt, (runtime, _protocol) in RUNTIMES.items():
        assert fmt in SHIPPED_RUNTIMES[runtime], f"{runtime} does not serve {fmt}"


def test_every_demo_spec_validates_with_its_own_name_and_storage(tmp_path: Path) -> None:
    from modelyard.store.demo.build import build_demo

    store = build_demo(tmp_path / "demo")
    names, uris, refused = set(), set(), []
    try:
        for info in store.models():
            for v in store.versions(info.name):
                try:
                    spec = _spec(store, v.ref)
                except DeployRefused as exc:
                    refused.append((v.model, str(exc)))
                    continue
                names.add(spec["metadata"]["name"])
                uris.add(spec["spec"]["predictor"]["model"]["storageUri"])
                assert len(uris) == len(names)
        # the markup-named fixture holds bare safetensors (no config.json): no shipped
        # KServe runtime serves it, so it is refused rather than given a spec KServe rejects
        assert {m for m, _ in refused} == {"resnet[/bold]"}
        assert all("modelFormat would be 'safetensors'" in why for _, why in refused)
        assert len(names) == sum(len(store.versions(i.name)) for i in store.models()
                                 if i.name != "resnet[/bold]")
    finally:
        store.close()
