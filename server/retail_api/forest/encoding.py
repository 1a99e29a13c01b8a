"""Turn request records into the float matrix the forest was trained on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Record = Mapping[str, str | float | int]


@dataclass(frozen=True)
class CategoricalColumn:
    name: str
    codes: Mapping[str, float]
    # Values never seen in training share one bucket, as OrdinalEncoder does.
    unknown_value: float

    def encode(self, value: str | float | int) -> float:
        return self.codes.get(str(value), self.unknown_value)


@dataclass(frozen=True)
class NumericColumn:
    name: str

    def encode(self, value: str | float | int) -> float:
        return float(value)


Column = CategoricalColumn | NumericColumn


@dataclass(frozen=True)
class Encoder:
    columns: tuple[Column, ...]

    def encode(self, records: Sequence[Record]) -> npt.NDArray[np.float64]:
        """One row per record, columns in model order; float64 like the pipeline output."""
        rows = [
            [column.encode(record[column.name]) for column in self.columns] for record in records
        ]
        return np.asarray(rows, dtype=np.float64).reshape(len(records), len(self.columns))
