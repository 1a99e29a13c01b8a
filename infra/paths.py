"""Where the project's files are: the one place these paths are computed.

Library modules import them from here instead of climbing `__file__` themselves, so a moved
module cannot quietly point somewhere else.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The folder holding `Pulumi.yaml`: Pulumi's working directory for the program."""
SERVER_DIR = PROJECT_ROOT / "server"
"""The API's source and the image's build context."""
DOCKERFILE = SERVER_DIR / "Dockerfile"
"""The image's Dockerfile, inside the build context."""
