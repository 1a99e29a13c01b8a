"""The feature contract, shared with the runtime so training and serving cannot drift.

The order is the column order the pipeline is fitted on; the compiled artifact
records it and the runtime reads it back.
"""

from retail_api.model.contract import (
    CATEGORICAL_FEATURES,
    CLASSES,
    INPUT_FEATURES,
    NUMERIC_FEATURES,
)

__all__ = ["CATEGORICAL_FEATURES", "CLASSES", "INPUT_FEATURES", "NUMERIC_FEATURES"]
