"""Puts shared/, devstack/ and every services/<name>/ on the venv's path (a .pth file), so each service's
package imports by its own name and a new service needs no reinstall."""

import sysconfig
from pathlib import Path

root = Path(__file__).resolve().parent.parent
paths = [root / "shared", root / "devstack", *sorted(p for p in (root / "services").iterdir() if p.is_dir()), root]
target = Path(sysconfig.get_paths()["purelib"]) / "comitas-paths.pth"
target.write_text("".join(f"{p}\n" for p in paths))
print(f"wrote {target}")
