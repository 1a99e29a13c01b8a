"""The project's commands, on the top floor of `infra/`: each imports the layers below it and
nothing imports a command.

- `check`, `init`: `python -m infra check|init` (`infra/__main__.py` dispatches).
- `scan_gate`: `python -m infra.scan_gate`; `image_tag`: `python -m infra.image_tag`.

`python -m PACKAGE` runs `PACKAGE/__main__.py`, so the documented `python -m infra.scan_gate`
and `python -m infra.image_tag` keep an entry file inside their packages. That file holds no
code of its own and nothing imports it: it only starts the command from here, so no module
of a lower layer ever imports a command.
"""
