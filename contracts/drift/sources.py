"""Where a service model for `invoicing-contracts diff` comes from, and reading it.

A source is one of:
- a model file: `service-2.json` or `service-2.json.gz` (any name; gzip is recognised by its magic bytes);
- a botocore data directory: the botocore package, its `data/` directory, `data/<service>/` or
  `data/<service>/<api-version>/` (the newest API version is taken when there are several);
- `botocore==X.Y.Z`: that release's wheel is fetched with `pip download --no-deps` and only the service
  model is kept, in a cache under ~/.cache/invoicing-contracts (INVOICING_CONTRACTS_CACHE overrides);
- `installed`: the model of the botocore installed with this project;
- `snapshot`: the model the contracts were written against (contracts/drift/invoicing-model.json.gz).

Bad input raises contracts.cli.UsageError (exit 2); a fetch that cannot reach the package index raises
Unreachable (exit 3).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import botocore
import botocore.exceptions
import botocore.loaders

from contracts.exit_codes import UsageError

SNAPSHOT_PATH = Path(__file__).with_name("invoicing-model.json.gz")
# The botocore release whose Invoicing model the snapshot is (byte for byte). Update both together.
SNAPSHOT_BOTOCORE_VERSION = "1.44.8"

_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_MODEL_NAMES = ("service-2.json.gz", "service-2.json")
# pip prints these when the index cannot be reached (offline, DNS, proxy): exit 3, not a usage error.
_NETWORK_MARKERS = (
    "NewConnectionError", "Network is unreachable", "Temporary failure in name resolution",
    "Name or service not known", "ConnectTimeout", "ReadTimeout", "timed out", "ProxyError",
    "Connection refused", "ConnectionError", "No route to host",
)


class Unreachable(RuntimeError):
    """The package index could not be reached to fetch a botocore release (CLI exit code 3)."""


@dataclass(frozen=True)
class LoadedModel:
    label: str  # what reports call it, e.g. "botocore 1.43.14" or a path
    raw: dict = field(repr=False)  # the service-2 JSON document
    origin: str = ""  # the file it was read from, when there is one


def load_model(source, service: str = "invoicing") -> LoadedModel:
    """Read a model from any source listed in the module docstring (or pass a dict through)."""
    if isinstance(source, LoadedModel):
        return source
    if isinstance(source, dict):
        _check_model(source, "the given model")
        return LoadedModel("model", source)
    text = str(source)
    if text == "installed":
        return installed_model(service)
    if text == "snapshot":
        if service != "invoicing":
            raise UsageError(f"the snapshot holds the invoicing model only, not {service!r}")
        return LoadedModel(f"snapshot of botocore {SNAPSHOT_BOTOCORE_VERSION}", read_model_file(SNAPSHOT_PATH),
                           str(SNAPSHOT_PATH))
    if text.startswith("botocore=="):
        version = text.split("==", 1)[1]
        path = fetch_botocore_model(version, service)
        return LoadedModel(f"botocore {version}", read_model_file(path), str(path))
    path = Path(text).expanduser()
    if path.is_file():
        return LoadedModel(_label_for_file(path), read_model_file(path), str(path))
    if path.is_dir():
        model_path = find_in_directory(path, service)
        version = _botocore_version_near(model_path)
        label = f"botocore {version} ({path})" if version else str(model_path)
        return LoadedModel(label, read_model_file(model_path), str(model_path))
    raise UsageError(
        f"{text}: no such file or directory; give a service-2.json[.gz] file, a botocore data directory, "
        f"botocore==X.Y.Z, 'installed' or 'snapshot'"
    )


def read_model_file(path: Path) -> dict:
    """Parse a service-2 JSON file, gzipped or not, and check it looks like a botocore model."""
    try:
        data = Path(path).read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        model = json.loads(data)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{path}: cannot read a JSON service model ({error})") from None
    _check_model(model, str(path))
    return model


def installed_model(service: str = "invoicing") -> LoadedModel:
    loader = botocore.loaders.create_loader()
    try:
        raw = loader.load_service_model(service, "service-2")
    except botocore.exceptions.UnknownServiceError:
        raise UsageError(f"the installed botocore {botocore.__version__} has no {service!r} model") from None
    versions = loader.list_api_versions(service, "service-2")
    origin = os.path.join(os.path.dirname(botocore.__file__), "data", service, max(versions), "service-2.json.gz")
    return LoadedModel(f"installed botocore {botocore.__version__}", raw, origin)


def find_in_directory(directory: Path, service: str = "invoicing") -> Path:
    """The service model under a botocore package or data directory (newest API version first)."""
    layouts = ("", "*", f"{service}/*", f"data/{service}/*", f"botocore/data/{service}/*")
    for layout in layouts:
        found = [p for name in _MODEL_NAMES for p in directory.glob(f"{layout}/{name}" if layout else name)]
        if found:
            # newest API version directory; .json.gz and .json of the same version hold the same model
            return sorted(found, key=lambda p: (p.parent.name, p.name.endswith(".gz")))[-1]
    raise UsageError(
        f"{directory}: no {service} service-2.json[.gz] found (looked in ., <api-version>/, {service}/<api-version>/, "
        f"data/{service}/<api-version>/ and botocore/data/{service}/<api-version>/)"
    )


def cache_directory() -> Path:
    return Path(os.environ.get("INVOICING_CONTRACTS_CACHE", "~/.cache/invoicing-contracts")).expanduser()


def fetch_botocore_model(version: str, service: str = "invoicing", *, run=subprocess.run) -> Path:
    """The service model of botocore==version, downloaded once with pip and kept (gzipped) in the cache.

    `run` is subprocess.run; tests pass a fake so they never touch the network.
    """
    if not _VERSION.match(version):
        raise UsageError(f"botocore=={version}: give a release as botocore==X.Y.Z, e.g. botocore==1.43.14")
    target = cache_directory() / f"botocore-{version}" / f"{service}-service-2.json.gz"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as download_dir:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
            "--quiet", "--timeout", "15", "--retries", "1", "--dest", download_dir, f"botocore=={version}",
        ]
        try:
            done = run(command, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            raise Unreachable(
                f"pip download botocore=={version} did not finish in 600 s; diff model files instead"
            ) from None
        if done.returncode != 0:
            output = f"{done.stdout}\n{done.stderr}"
            last = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "no output")
            if any(marker in output for marker in _NETWORK_MARKERS):
                raise Unreachable(
                    f"cannot fetch botocore=={version}: the package index is unreachable ({last}); "
                    f"diff model files or botocore data directories instead"
                )
            raise UsageError(f"cannot fetch botocore=={version}: {last}")
        wheels = sorted(Path(download_dir).glob("botocore-*.whl"))
        if not wheels:
            raise UsageError(f"pip download botocore=={version} produced no wheel in {download_dir}")
        data = _model_from_wheel(wheels[0], service, version)
        partial = target.with_suffix(".partial")
        partial.write_bytes(data if data[:2] == b"\x1f\x8b" else gzip.compress(data))
        partial.replace(target)  # atomic: a killed fetch never leaves a truncated cache entry
    return target


def _model_from_wheel(wheel: Path, service: str, version: str) -> bytes:
    pattern = re.compile(rf"^botocore/data/{re.escape(service)}/([^/]+)/service-2\.json(\.gz)?$")
    with zipfile.ZipFile(wheel) as archive:
        names = sorted((m.group(1), name) for name in archive.namelist() if (m := pattern.match(name)))
        if not names:
            raise UsageError(f"botocore {version} has no {service} service model (the service is newer)")
        return archive.read(names[-1][1])


def _check_model(model, where: str) -> None:
    if not isinstance(model, dict) or not isinstance(model.get("operations"), dict) \
            or not isinstance(model.get("shapes"), dict):
        raise UsageError(f"{where}: not a botocore service model (it needs 'operations' and 'shapes' objects)")


def _label_for_file(path: Path) -> str:
    # The fixtures are named invoicing-botocore-X.Y.Z.json.gz; say which release they are.
    match = re.search(r"botocore-(\d+\.\d+\.\d+)", path.name)
    return f"botocore {match.group(1)}" if match else str(path)


def _botocore_version_near(model_path: Path) -> str | None:
    """The __version__ of the botocore package a data directory belongs to, when it is one."""
    for parent in model_path.parents:
        init = parent / "__init__.py"
        if (parent / "data").is_dir() and init.is_file():
            match = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", init.read_text(errors="replace"), re.M)
            return match.group(1) if match else None
    return None
