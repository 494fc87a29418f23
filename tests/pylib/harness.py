"""Shared by the Python test runners: walk input folders, run one check per
file, print "ok"/"FAIL" lines and the closing "N passed, N failed" line."""
import os


def run_over_files(dirs, check, name_of=os.path.basename):
    """check(path) -> (ok, message); ok None skips the file. Returns an exit
    status: 1 if anything failed or nothing passed."""
    passed = failed = 0
    for d in dirs:
        for root, _, files in os.walk(d):
            for f in sorted(files):
                path = os.path.join(root, f)
                try:
                    ok, msg = check(path)
                except Exception as e:  # a reader choked: a failure, named
                    ok, msg = False, f"{type(e).__name__}: {e}"
                if ok is None:
                    continue
                print(("ok   " if ok else "FAIL ") + name_of(path) + ": " + msg)
                passed += bool(ok)
                failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


def pydicom_data_dirs():
    import pydicom
    base = os.path.dirname(pydicom.__file__) + "/data"
    return [base + "/test_files", base + "/charset_files"]
