"""`python -m infra.image_tag`: starts the command in `infra/cli/image_tag.py`.

The entry file `python -m` needs inside the package; the command itself lives with the others
on the top floor of `infra/` (see `infra/cli/__init__.py`), and nothing imports this file.
"""

from infra.cli.image_tag import main

raise SystemExit(main())
