"""What a process loads when it starts: every web and worker process imports every app, so a heavy library
imported at module level by one of them is paid by all (scipy.stats alone is ~65 MB of memory)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOADED_WHEN_USED = ("scipy.stats", "openpyxl", "pyproj", "shapely")


def test_heavy_libraries_load_when_first_used_not_when_the_apps_start():
    script = ("import os, sys, django\n"
              "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'jindu.settings')\n"
              "django.setup()\n"
              "import jindu.urls  # noqa: F401  (every view module)\n"
              f"print(' '.join(m for m in {LOADED_WHEN_USED!r} if m in sys.modules))\n"
              "from utilities.excel import write_table\n"
              "write_table(['a'], [[1]])\n"
              "print('openpyxl' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    loaded, used = out.stdout.splitlines()
    assert loaded == ""
    assert used == "True"                          # and the workbook is still written when asked for
