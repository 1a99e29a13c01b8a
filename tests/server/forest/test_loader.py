"""Loading the artifact: the bundled one works, every kind of damage is named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retail_api.core.config import DEFAULT_MODEL_DIR
from retail_api.forest.artifact import arrays_digest
from retail_api.forest.loader import ModelLoadError, load_model


def test_bundled_artifact_loads() -> None:
    model = load_model(DEFAULT_MODEL_DIR)
    assert model.forest.n_trees == model.metadata.size.n_trees == 100
    assert model.forest.depth == model.metadata.size.max_depth <= 10
    assert sorted(model.classes) == ["High", "Low", "Medium"]


def test_bundled_artifact_is_small() -> None:
    total = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir())
    assert total < 3 * 1024 * 1024


def _rewrite_meta(model_dir: Path, **changes: Any) -> None:
    path = model_dir / "model.json"
    meta = json.loads(path.read_text()) | changes
    path.write_text(json.dumps(meta))


def _rewrite_arrays(
    model_dir: Path,
    name: str,
    array: np.ndarray,
    fix_digest: bool,
) -> None:
    with np.load(model_dir / "forest.npz") as npz:
        arrays = {key: npz[key] for key in npz.files} | {name: array}
    np.savez_compressed(model_dir / "forest.npz", **arrays)
    if fix_digest:
        _rewrite_meta(model_dir, arrays_sha256=arrays_digest(arrays))


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"^model\.json: file not found$"):
        load_model(tmp_path / "nope")


def test_missing_arrays(model_copy: Path) -> None:
    (model_copy / "forest.npz").unlink()
    with pytest.raises(ModelLoadError, match=r"forest\.npz: file not found"):
        load_model(model_copy)


def test_truncated_arrays(model_copy: Path) -> None:
    path = model_copy / "forest.npz"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ModelLoadError, match=r"forest\.npz: not a readable \.npz"):
        load_model(model_copy)


def test_metadata_not_json(model_copy: Path) -> None:
    (model_copy / "model.json").write_text("{oops")
    with pytest.raises(ModelLoadError, match=r"model\.json: not readable JSON"):
        load_model(model_copy)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format_version": 2}, r"format_version: Input should be 1"),
        ({"classes": ["A", "B", "C"]}, r"classes \['A', 'B', 'C'\] must be"),
        ({"features": [{"name": "SPEND", "kind": "numeric"}]}, r"do not match the API fields"),
        ({"arrays_sha256": "0" * 64}, r"arrays do not match arrays_sha256"),
    ],
)
def test_bad_metadata(model_copy: Path, changes: dict[str, Any], message: str) -> None:
    _rewrite_meta(model_copy, **changes)
    with pytest.raises(ModelLoadError, match=message):
        load_model(model_copy)


def test_edited_arrays_fail_the_digest(model_copy: Path) -> None:
    with np.load(model_copy / "forest.npz") as npz:
        threshold = npz["threshold"].copy()
    threshold[0] += 1.0
    _rewrite_arrays(model_copy, "threshold", threshold, fix_digest=False)
    with pytest.raises(ModelLoadError, match="arrays do not match arrays_sha256"):
        load_model(model_copy)


def test_wrong_dtype_is_rejected(model_copy: Path) -> None:
    with np.load(model_copy / "forest.npz") as npz:
        feature = npz["feature"].astype(np.int64)
    _rewrite_arrays(model_copy, "feature", feature, fix_digest=True)
    with pytest.raises(ModelLoadError, match="'feature' has dtype int64, expected int32"):
        load_model(model_copy)


def test_pickled_arrays_are_refused(model_copy: Path) -> None:
    _rewrite_arrays(model_copy, "roots", np.array([{"evil": 1}], dtype=object), fix_digest=False)
    with pytest.raises(ModelLoadError, match=r"forest\.npz: not a readable \.npz"):
        load_model(model_copy)


def test_structural_damage_is_reported(model_copy: Path) -> None:
    with np.load(model_copy / "forest.npz") as npz:
        left = npz["children_left"].copy()
    left[0] = 0
    _rewrite_arrays(model_copy, "children_left", left, fix_digest=True)
    with pytest.raises(ModelLoadError, match=r"forest\.npz: children_left: child index"):
        load_model(model_copy)


@pytest.mark.parametrize(
    "content",
    [b"not a zip file", b"", b"\x80\x04K\x01."],
    ids=["text", "empty", "pickle"],
)
def test_non_zip_arrays_are_named_as_such(model_copy: Path, content: bytes) -> None:
    (model_copy / "forest.npz").write_bytes(content)
    with pytest.raises(ModelLoadError, match=r"forest\.npz: not a \.npz \(zip\) archive") as info:
        load_model(model_copy)
    assert "pickled" not in str(info.value)


def test_plain_npy_file_is_not_an_archive(model_copy: Path) -> None:
    """np.load returns a bare array for .npy bytes; the loader must not try to use it."""
    np.save(model_copy / "forest.npy", np.arange(3))
    (model_copy / "forest.npy").rename(model_copy / "forest.npz")
    with pytest.raises(ModelLoadError, match=r"not a \.npz \(zip\) archive"):
        load_model(model_copy)


def test_leaf_counts_instead_of_fractions_are_rejected(model_copy: Path) -> None:
    """An artifact holding raw class counts (old scikit-learn, uncompiled) must not load."""
    with np.load(model_copy / "forest.npz") as npz:
        value, left = npz["value"].copy(), npz["children_left"]
    value[left == -1] *= 7.0
    _rewrite_arrays(model_copy, "value", value, fix_digest=True)
    with pytest.raises(
        ModelLoadError, match=r"forest\.npz: value: \d+ leaf rows are not class fractions"
    ):
        load_model(model_copy)


def test_slightly_off_leaf_row_is_rejected(model_copy: Path) -> None:
    with np.load(model_copy / "forest.npz") as npz:
        value, left = npz["value"].copy(), npz["children_left"]
    first_leaf = int(np.flatnonzero(left == -1)[0])
    value[first_leaf] *= 1 + 1e-8
    _rewrite_arrays(model_copy, "value", value, fix_digest=True)
    with pytest.raises(ModelLoadError, match=r"value: 1 leaf rows are not class fractions"):
        load_model(model_copy)


def test_artifact_bytes_are_measured() -> None:
    model = load_model(DEFAULT_MODEL_DIR)
    assert model.artifact_bytes == sum(
        (DEFAULT_MODEL_DIR / name).stat().st_size for name in ("model.json", "forest.npz")
    )
