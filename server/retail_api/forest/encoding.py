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

    def encode_column(self, records: Sequence[Record]) -> list[float]:
        codes, unknown, name = self.codes, self.unknown_value, self.name
        return [codes.get(str(record[name]), unknown) for record in records]


@dataclass(frozen=True)
class NumericColumn:
    name: str

    def encode(self, value: str | float | int) -> float:
        return float(value)

    def encode_column(self, records: Sequence[Record]) -> list[float]:
        name = self.name
        return [float(record[name]) for record in records]


Column = CategoricalColumn | NumericColumn


@dataclass(frozen=True)
class Encoder:
    columns: tuple[Column, ...]

    def encode(self, records: Sequence[Record]) -> npt.NDArray[np.float64]:
        """One row per record, columns in model order; float64 like the pipeline output.

        Built column by column (one comprehension per column instead of a call per cell)
        and returned as the transpose of that (columns, rows) array: the forest walks it
        feature-major anyway.
        """
        if len(records) == 1:  # the /predict path: one short list beats eight
            record = records[0]
            row = [column.encode(record[column.name]) for column in self.columns]
            return np.asarray([row], dtype=np.float64)
        columns = [column.encode_column(records) for column in self.columns]
        return np.asarray(columns, dtype=np.float64).reshape(len(self.columns), len(records)).T
