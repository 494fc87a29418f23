"""Where the shared corpus of public DicomEdit scripts is: it is not in the
repository (the scripts' licences vary), so the tests that use it look for
../shared/data/dicomedit-scripts beside the checkout or above it, or take
$DQR_DICOMEDIT_SCRIPTS, and skip (exit 77) when it is absent."""
import os


def corpus_dir(root):
    """The corpus folder for the checkout at root, or None."""
    env = os.environ.get("DQR_DICOMEDIT_SCRIPTS")
    if env:
        return env if os.path.isdir(env) else None
    d = os.path.abspath(root)
    while True:
        cand = os.path.join(d, "..", "shared", "data", "dicomedit-scripts")
        if os.path.isdir(cand):
            return os.path.normpath(cand)
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent
