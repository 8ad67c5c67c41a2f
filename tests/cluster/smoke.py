"""End-to-end smoke check of the real-cluster test setup (not collected by pytest).

    python tests/cluster/smoke.py [--bin-dir DIR]

Builds/finds the binaries (install.sh), starts LocalCluster, creates the CompositeController
CRD fixture with plain `requests`, waits for Established, checks that a valid
CompositeController is stored (with defaults applied) and an invalid one is rejected, and
prints timings. Exit code 0 on success.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import requests
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from apiserver import LocalCluster, install_binaries  # noqa: E402

CRD_FILE = HERE / "fixtures" / "compositecontroller-crd.yaml"
CRD_NAME = "compositecontrollers.metacontroller.k8s.io"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
CCS = "/apis/metacontroller.k8s.io/v1alpha1/compositecontrollers"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", help="skip install.sh and use this bin dir")
    args = ap.parse_args()

    t0 = time.monotonic()
    bin_dir = Path(args.bin_dir) if args.bin_dir else install_binaries()
    t_install = time.monotonic() - t0
    print(f"binaries: {bin_dir} ({t_install:.1f}s)")

    t1 = time.monotonic()
    with LocalCluster(bin_dir) as cluster:
        t_start = time.monotonic() - t1
        s = requests.Session()
        s.headers.update(cluster.headers)
        s.verify = cluster.ca_file  # the apiserver's self-signed cert from --cert-dir
        # Without this, REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE from the environment override
        # Session.verify, and *_PROXY variables could route loopback through a proxy.
        s.trust_env = False

        version = s.get(cluster.url + "/version", timeout=10)
        version.raise_for_status()
        print(f"apiserver {cluster.url}: {version.json()['gitVersion']}")

        crd = yaml.safe_load(CRD_FILE.read_text())
        t2 = time.monotonic()
        r = s.post(cluster.url + CRDS, json=crd, timeout=30)
        if r.status_code != 201:
            print(f"CRD create failed: HTTP {r.status_code}\n{r.text}", file=sys.stderr)
            return 1
        established = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            got = s.get(f"{cluster.url}{CRDS}/{CRD_NAME}", timeout=10).json()
            conds = {
                c["type"]: c["status"] for c in (got.get("status") or {}).get("conditions") or []
            }
            if conds.get("Established") == "True":
                established = True
                break
            time.sleep(0.1)
        t_crd = time.monotonic() - t2
        if not established:
            print(f"CRD not Established after 60s: {conds}", file=sys.stderr)
            return 1
        print(f"CRD conditions: {conds}")

        # The new resource can take a moment to be served after Established.
        good = {
            "apiVersion": "metacontroller.k8s.io/v1alpha1",
            "kind": "CompositeController",
            "metadata": {"name": "smoke"},
            "spec": {
                "generateSelector": True,
                "parentResource": {"apiVersion": "example.com/v1", "resource": "things"},
                "childResources": [
                    {
                        "apiVersion": "v1",
                        "resource": "configmaps",
                        "updateStrategy": {"method": "InPlace"},
                    }
                ],
                "hooks": {
                    "sync": {"webhook": {"url": "http://127.0.0.1:1/sync", "timeout": "10s"}}
                },
            },
        }
        t3 = time.monotonic()
        while True:
            r = s.post(cluster.url + CCS, json=good, timeout=10)
            if r.status_code != 404 or time.monotonic() - t3 > 30:
                break
            time.sleep(0.1)
        if r.status_code != 201:
            print(
                f"valid CompositeController rejected: HTTP {r.status_code}\n{r.text}",
                file=sys.stderr,
            )
            return 1
        stored = r.json()
        assert stored["spec"]["hooks"]["sync"]["version"] == "v1", stored  # schema default
        print("valid CompositeController created; hooks.sync.version defaulted to v1")

        bad_cases = {
            "no parentResource": {"childResources": []},
            "parentResource without resource": {"parentResource": {"apiVersion": "v1"}},
            "unknown updateStrategy.method": {
                "parentResource": {"apiVersion": "v1", "resource": "x"},
                "childResources": [
                    {"apiVersion": "v1", "resource": "y", "updateStrategy": {"method": "Sometimes"}}
                ],
            },
            "hook version v3": {
                "parentResource": {"apiVersion": "v1", "resource": "x"},
                "hooks": {"sync": {"version": "v3", "webhook": {"url": "http://h/sync"}}},
            },
            "webhook service without namespace": {
                "parentResource": {"apiVersion": "v1", "resource": "x"},
                "hooks": {"sync": {"webhook": {"service": {"name": "s"}}}},
            },
            "endpointConfigs entry without host": {
                "parentResource": {"apiVersion": "v1", "resource": "x"},
                "endpointConfigs": [{"caBundle": {"inline": "PEM"}}],
            },
        }
        for i, (what, spec) in enumerate(bad_cases.items()):
            obj = {**good, "metadata": {"name": f"bad-{i}"}, "spec": spec}
            r = s.post(cluster.url + CCS, json=obj, timeout=10)
            if r.status_code != 422:
                print(
                    f"invalid CompositeController ({what}) not rejected: HTTP {r.status_code}",
                    file=sys.stderr,
                )
                return 1
            print(f"rejected as expected ({what}): {r.json()['message'][:160]}")

        print(
            "timings: "
            f"install.sh {t_install:.1f}s, "
            f"etcd ready {cluster.timings['etcd_ready']:.1f}s, "
            f"apiserver ready {cluster.timings['apiserver_ready']:.1f}s "
            f"(LocalCluster.start {t_start:.1f}s), "
            f"CRD Established {t_crd:.2f}s"
        )
    t_total = time.monotonic() - t0
    print(f"stopped; total {t_total:.1f}s")
    print("smoke: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
