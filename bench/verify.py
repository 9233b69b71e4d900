"""The light verifiers: bundles a second offline, and what installing the Python one costs.

Prints one JSON object:
- py_bundles_per_s: the light Python verifier (`carbon_verifier.verify_bundle` with no
  RPC: format, inclusion, trust pin and the checkpoint's signature) over the shared valid
  vectors (tests/vectors/bundles, one bundle of every event type) repeated for SECONDS;
- js_bundles_per_s: the same with the JavaScript verifier under Node
  (verifier-js/bench/verify.mjs);
- light_install_mb, light_install_packages: `pip install ./verifier` into a fresh virtual
  environment (from the package index, as a user would), measured as the size of its
  site-packages and the number of distributions besides pip and setuptools.
Targets (issue 13): >= 2,000 bundles/s in Python, install <= 15 MB and <= 8 packages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "verifier"))

from carbon_verifier.trust import TrustAnchor  # noqa: E402
from carbon_verifier.verify import verify_bundle  # noqa: E402

SECONDS = 3.0
BASELINE = {"pip", "setuptools", "wheel"}


def py_bundles_per_s() -> int:
    vectors = ROOT / "tests" / "vectors" / "bundles"
    bundles = list(json.loads((vectors / "valid.json").read_text()).values())
    trust = TrustAnchor.from_json(json.loads((vectors / "trust.json").read_text()))
    for bundle in bundles:  # warm up, and every vector must pass the offline checks
        report = verify_bundle(bundle, None, trust=trust)
        assert all(c.ok for c in report.checks[:-1]), report.failures
    verified, start = 0, time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        for bundle in bundles:
            verify_bundle(bundle, None, trust=trust)
        verified += len(bundles)
    return round(verified / (time.perf_counter() - start))


def js_bundles_per_s() -> int:
    done = subprocess.run(
        ["node", "bench/verify.mjs", "--seconds", str(SECONDS)],
        cwd=ROOT / "verifier-js", capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return int(json.loads(done.stdout)["js_bundles_per_s"])


def light_install() -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
        subprocess.run([*pip, "install", "-q", str(ROOT / "verifier")], check=True, timeout=600,
                       capture_output=True)  # fmt: skip
        listed = subprocess.run(
            [*pip, "list", "--format=json"], check=True, capture_output=True, text=True
        )
        packages = [p["name"] for p in json.loads(listed.stdout)]
        (site,) = (venv / "lib").glob("python3*/site-packages")
        skipped = ("pip", "setuptools", "wheel", "_distutils_hack", "distutils-precedence.pth")
        size = sum(
            f.stat().st_size
            for f in site.rglob("*")
            if f.is_file() and not f.relative_to(site).parts[0].startswith(skipped)
        )
        return size / 1e6, len([p for p in packages if p.lower() not in BASELINE])


def main() -> None:
    install_mb, packages = light_install()
    print(
        json.dumps(
            {
                "py_bundles_per_s": py_bundles_per_s(),
                "js_bundles_per_s": js_bundles_per_s(),
                "light_install_mb": round(install_mb, 2),
                "light_install_packages": packages,
            }
        )
    )


if __name__ == "__main__":
    main()
