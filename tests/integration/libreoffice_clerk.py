"""What a clerk does in LibreOffice Calc, done by LibreOffice itself: run by the system's python3 (which has
LibreOffice's `uno` bridge), never imported by the tests. One headless soffice serves a whole job (a JSON file
named on the command line): each step opens a file, optionally types cells into its first sheet — through the
same input parsing as the keyboard (the cell's `FormulaLocal`: a cell formatted as text keeps the digits typed, a
General cell turns them into a number, `=1+1` becomes a formula) — and saves it with the filters given (xlsx, csv
in an encoding, PDF). It prints the number of steps done."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
from com.sun.star.connection import NoConnectException  # type: ignore[import-not-found]


def _props(**values: Any) -> tuple[Any, ...]:
    out = []
    for name, value in values.items():
        p = PropertyValue()
        p.Name, p.Value = name, value
        out.append(p)
    return tuple(out)


def main(job_file: str) -> int:
    with open(job_file, encoding="utf-8") as f:
        job = json.load(f)
    profile = tempfile.mkdtemp(prefix="daipin-lo-")
    pipe = f"daipin-lo-{os.getpid()}"
    soffice = subprocess.Popen(
        [job.get("soffice", "soffice"), "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
         "--nolockcheck", f"-env:UserInstallation=file://{profile}", f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + 60
        while True:
            try:
                ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except NoConnectException:
                if time.monotonic() > deadline or soffice.poll() is not None:
                    raise
                time.sleep(0.2)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        done = 0
        for step in job["steps"]:
            doc = None
            for _attempt in range(3):  # a fresh profile's first load can come back empty
                doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(step["open"]), "_blank", 0,
                                                   _props(Hidden=True, **step.get("load", {})))
                if doc is not None:
                    break
                time.sleep(1)
            if doc is None:
                raise RuntimeError(f"LibreOffice could not open {step['open']}")
            sheet = doc.Sheets.getByIndex(0)
            for row, column, typed in step.get("type", []):
                sheet.getCellByPosition(column, row).setPropertyValue("FormulaLocal", typed)
            if step.get("type"):
                doc.calculateAll()
            for path, filter_name, options in step.get("save", []):
                args = {"FilterName": filter_name, "Overwrite": True}
                if options:
                    args["FilterOptions"] = options
                doc.storeToURL(uno.systemPathToFileUrl(path), _props(**args))
            doc.close(True)
            done += 1
        with contextlib.suppress(Exception):  # the bridge closes as soffice quits
            desktop.terminate()
        print(done)
        return 0
    finally:
        # The soffice script starts soffice.bin in its own session: that process group is this job's alone.
        with contextlib.suppress(subprocess.TimeoutExpired):
            soffice.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(soffice.pid, signal.SIGTERM if time.monotonic() < deadline - 5 else signal.SIGKILL)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        if soffice.poll() is None:
            soffice.kill()
            soffice.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
