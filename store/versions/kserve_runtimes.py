"""What KServe itself accepts: the model formats its shipped ClusterServingRuntimes serve,
and the checks of the values a deployment spec carries (names, quantities).

The runtime table is copied from the kserve repository at commit
aaac4e294dae2c7b1aa1886447793f3aa1c30912 (KServe v0.20.0): every runtime listed in
`config/runtimes/kustomization.yaml`, with the `supportedModelFormats` names of its
`config/runtimes/<runtime>.yaml`. tests/kserve/cluster_serving_runtimes.json holds the same
extract with its source, and a test keeps the two equal.
"""

from __future__ import annotations

import re

from modelyard.store.errors import ModelyardError

KSERVE_VERSION = "v0.20.0"
SHIPPED_RUNTIMES: dict[str, tuple[str, ...]] = {
    "kserve-autogluonserver": ("autogluon",),
    "kserve-huggingfaceserver": ("huggingface",),
    "kserve-huggingfaceserver-multinode": ("huggingface",),
    "kserve-lgbserver": ("lightgbm",),
    "kserve-mlserver": ("lightgbm", "mlflow", "sklearn", "xgboost"),
    "kserve-paddleserver": ("paddle",),
    "kserve-pmmlserver": ("pmml",),
    "kserve-predictiveserver": ("lightgbm", "sklearn", "xgboost"),
    "kserve-sklearnserver": ("sklearn",),
    "kserve-tensorflow-serving": ("tensorflow",),
    "kserve-torchserve": ("pytorch",),
    "kserve-tritonserver": ("onnx", "pytorch", "tensorflow", "tensorrt", "triton"),
    "kserve-vllmserver": ("vLLM",),
    "kserve-xgbserver": ("xgboost",),
}
SHIPPED_FORMATS = frozenset(f for formats in SHIPPED_RUNTIMES.values() for f in formats)

# Kubernetes object names: a ServingRuntime is a DNS-1123 subdomain (RFC 1123, 253 at most)
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# resource.Quantity, as apimachinery parses it (and the CRD's pattern)
_QUANTITY = re.compile(r"^[+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
                       r"([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$")


class DeployRefused(ModelyardError):
    """A version whose deployment spec KServe or Kubernetes would refuse; the message names
    the field and says how to fix it."""

    exit_code = 2


def serves(runtime: str, model_format: str) -> bool:
    return model_format in SHIPPED_RUNTIMES.get(runtime, ())


def runtimes_for(model_format: str) -> list[str]:
    return sorted(r for r, formats in SHIPPED_RUNTIMES.items() if model_format in formats)


def check_runtime_name(name: str, field: str) -> str:
    """A runtime name Kubernetes accepts as an object name, or DeployRefused."""
    if len(name) > 253 or not _SUBDOMAIN.match(name):
        raise DeployRefused(
            f"{field} is {name!r}, which is not a Kubernetes object name (lower-case letters, "
            "digits, '-' and '.', at most 253 characters, no spaces or shell syntax); name the "
            f"ServingRuntime as it is installed, e.g. kserve-sklearnserver")
    return name


def quantity(key: str, value: object, field: str) -> str | None:
    """A Kubernetes quantity for resource `key` from a card value (`4 GB` becomes `4G`,
    `2GiB` `2Gi`); None for an absent or zero GPU. Negative values, text that is no
    quantity, and fractional GPUs (extended resources take whole numbers) are refused."""
    if value is None or value == "" or value is False:
        return None
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        raise DeployRefused(f"{field} is {value!r}; write a quantity such as 2, 500m or 4Gi")
    text = str(value).replace(" ", "")
    text = re.sub(r"([KMGTPE]i)B$", r"\1", text)
    text = re.sub(r"([KMGTPE])B$", r"\1", text)
    if not _QUANTITY.match(text):
        raise DeployRefused(f"{field} is {value!r}, which is not a Kubernetes quantity; write "
                            "e.g. 2, 500m (cpu), 4Gi or 512M (memory)")
    if text.startswith("-"):
        raise DeployRefused(f"{field} is {value!r}; a resource cannot be negative")
    if key == "gpu":
        if not re.fullmatch(r"\+?[0-9]+", text):
            raise DeployRefused(f"{field} is {value!r}; nvidia.com/gpu is an extended resource "
                                "and Kubernetes takes only whole numbers of it (1, 2…)")
        if int(text) == 0:
            return None
        return str(int(text))
    return text.lstrip("+")
