"""Load and verify a compiled artifact directory; no pickle, no scikit-learn."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from retail_api.forest.artifact import (
    ARRAY_DTYPES,
    ARRAYS_FILE,
    FORMAT_VERSION,
    METADATA_FILE,
    arrays_digest,
)
from retail_api.forest.contract import CLASSES, INPUT_FEATURES
from retail_api.forest.encoding import CategoricalColumn, Column, Encoder, NumericColumn, Record
from retail_api.forest.evaluator import Forest, ForestError, build_forest


class ModelLoadError(Exception):
    """The artifact is missing or unusable.

    The message names the file (not its directory: it is shown on /health) and the problem.
    """


class FeatureSpec(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    kind: Literal["categorical", "numeric"]
    categories: list[str] = Field(default_factory=list)
    unknown_value: float = -1.0


class ModelSize(BaseModel):
    n_trees: int
    n_nodes: int
    n_leaves: int
    max_depth: int
    arrays_bytes: int


class ModelMetadata(BaseModel):
    """The metadata file; unknown keys are ignored so newer compilers stay loadable."""

    format_version: Literal[1]
    model_version: str = Field(min_length=1)
    arrays_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    algorithm: str
    hyperparameters: dict[str, Any]
    size: ModelSize
    features: list[FeatureSpec]
    classes: list[str]
    metrics: dict[str, float] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class CompiledModel:
    metadata: ModelMetadata
    encoder: Encoder
    forest: Forest
    # Bytes on disk of the artifact files (model.json + forest.npz) as loaded.
    artifact_bytes: int

    @property
    def version(self) -> str:
        return self.metadata.model_version

    @property
    def classes(self) -> list[str]:
        return self.metadata.classes

    def predict_proba(self, records: Sequence[Record]) -> npt.NDArray[np.float64]:
        return self.forest.predict_proba(self.encoder.encode(records))


def _reason(exc: Exception) -> str:
    # An OSError's text repeats the absolute path; its strerror alone names the fault.
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _read_metadata(path: Path) -> ModelMetadata:
    try:
        return ModelMetadata.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{path.name}: file not found") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path.name}: not readable JSON ({_reason(exc)})") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ModelLoadError(f"{path.name}: invalid metadata ({problems})") from exc


# Local-file header, or end-of-central-directory for an empty archive.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def _read_arrays(path: Path) -> dict[str, npt.NDArray[Any]]:
    try:
        with path.open("rb") as file:
            magic = file.read(4)
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{path.name}: file not found") from exc
    except OSError as exc:
        raise ModelLoadError(f"{path.name}: not readable ({_reason(exc)})") from exc
    # Checked first: np.load treats any non-zip, non-.npy bytes as a pickle and would
    # report "pickled (object) data" for plain garbage, and it returns a bare array
    # (not an archive) for a .npy file.
    if magic not in _ZIP_MAGIC:
        raise ModelLoadError(f"{path.name}: not a .npz (zip) archive (starts with {magic!r})")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{path.name}: file not found") from exc
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelLoadError(f"{path.name}: not a readable .npz ({_reason(exc)})") from exc
    for name, dtype in ARRAY_DTYPES.items():
        if name not in arrays:
            raise ModelLoadError(f"{path.name}: missing array {name!r}")
        if arrays[name].dtype != dtype:
            raise ModelLoadError(
                f"{path.name}: array {name!r} has dtype {arrays[name].dtype}, expected {dtype}"
            )
    return arrays


def _check_contract(meta: ModelMetadata, path: Path) -> None:
    names = [feature.name for feature in meta.features]
    if sorted(names) != sorted(INPUT_FEATURES):
        raise ModelLoadError(
            f"{path.name}: features {names} do not match the API fields {list(INPUT_FEATURES)}"
        )
    if sorted(meta.classes) != sorted(CLASSES):
        raise ModelLoadError(f"{path.name}: classes {meta.classes} must be {list(CLASSES)}")


def _encoder(meta: ModelMetadata) -> Encoder:
    columns: list[Column] = []
    for spec in meta.features:
        if spec.kind == "numeric":
            columns.append(NumericColumn(spec.name))
        else:
            codes = {value: float(code) for code, value in enumerate(spec.categories)}
            columns.append(CategoricalColumn(spec.name, codes, spec.unknown_value))
    return Encoder(tuple(columns))


def load_model(model_dir: Path) -> CompiledModel:
    """Read, verify and prepare the artifact in ``model_dir``; raises ModelLoadError."""
    meta_path, arrays_path = model_dir / METADATA_FILE, model_dir / ARRAYS_FILE
    meta = _read_metadata(meta_path)
    if meta.format_version != FORMAT_VERSION:
        raise ModelLoadError(f"{meta_path.name}: format_version {meta.format_version} unsupported")
    _check_contract(meta, meta_path)
    arrays = _read_arrays(arrays_path)
    if arrays_digest(arrays) != meta.arrays_sha256:
        raise ModelLoadError(
            f"{arrays_path.name}: arrays do not match arrays_sha256 in {meta_path.name}"
        )
    try:
        forest = build_forest(arrays, len(meta.features))
    except ForestError as exc:
        raise ModelLoadError(f"{arrays_path.name}: {exc}") from exc
    if forest.n_classes != len(meta.classes):
        raise ModelLoadError(
            f"{arrays_path.name}: value has {forest.n_classes} classes, metadata "
            f"lists {len(meta.classes)}"
        )
    try:
        artifact_bytes = meta_path.stat().st_size + arrays_path.stat().st_size
    except OSError as exc:
        raise ModelLoadError(f"artifact files vanished while loading ({_reason(exc)})") from exc
    return CompiledModel(
        metadata=meta,
        encoder=_encoder(meta),
        forest=forest,
        artifact_bytes=artifact_bytes,
    )
