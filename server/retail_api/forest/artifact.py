"""The on-disk format of the compiled model, shared by the compiler and the loader.

The artifact is a directory holding ``model.json`` (metadata) and ``forest.npz``
(tree arrays, loaded with ``allow_pickle=False``). The metadata records a SHA-256
over the arrays so a truncated or edited ``.npz`` is caught at load time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt

FORMAT_VERSION: Final = 1
METADATA_FILE: Final = "model.json"
ARRAYS_FILE: Final = "forest.npz"
LEAF: Final = -1
# Leaf rows of `value` are class fractions summing to 1 within this: the compiler keeps rows
# this close bit for bit (scikit-learn >= 1.4 stores fractions) and the loader refuses others.
FRACTION_TOLERANCE: Final = 1e-9
# Array name -> dtype; the loader rejects any other dtype rather than casting silently.
ARRAY_DTYPES: Final[Mapping[str, np.dtype[np.generic]]] = {
    "roots": np.dtype(np.int32),
    "children_left": np.dtype(np.int32),
    "children_right": np.dtype(np.int32),
    "feature": np.dtype(np.int32),
    "threshold": np.dtype(np.float64),
    "value": np.dtype(np.float64),
}


def arrays_digest(arrays: Mapping[str, npt.NDArray[np.generic]]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in a fixed order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
