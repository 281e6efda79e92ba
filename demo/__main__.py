"""``make demo``: the whole job of envpayload-operator, end to end, on the local plane.

It starts the local control plane if it is not running, installs the CRD, runs the
operator, and then walks through what a platform team sees: a multi-line production
payload becomes a Secret, a rotated credential lands, and a broken payload is refused
while the last good Secret stays (and an alert reaches the webhook), then recovers. Every
step prints what it does and what the cluster shows; values are never printed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from demo.show import Demo, DemoError

REPO = Path(__file__).resolve().parent.parent
NAMESPACE = "envpayload-demo"

PRODUCTION_ENV_FILE = """\
# The payload CI keeps in the GitHub secret PRODUCTION_ENV_FILE.
DB_HOST=mysql.shop.svc
DB_USER=shop
DB_PASSWORD="pw-2026-q4"
API_SIGNING_KEY="-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+demo+only+not+a+real+key+at+all+xx
-----END PRIVATE KEY-----"
OPERATIONS_ALERT_WEBHOOK=https://hooks.example.invalid/services/T000/B000/XXXX
SCHEDULER_ALERT_THRESHOLD_SECONDS=300
"""


def main() -> int:
    demo = Demo(REPO, NAMESPACE)
    try:
        demo.start()
        sync_a_payload(demo)
        rotate_a_credential(demo)
        refuse_a_broken_payload(demo)
        seal_a_payload(demo)
    except DemoError as e:
        print(f"\nThe demo stopped: {e}", file=sys.stderr)
        print(f"Operator log: {demo.operator_log}", file=sys.stderr)
        return 1
    finally:
        demo.stop()
    demo.say(
        "Done. The control plane is still running: inspect it with\n"
        f"  export KUBECONFIG={demo.plane.kubeconfig}\n"
        f"  {demo.kubectl_path} -n {NAMESPACE} get envpayloads,secrets\n"
        "and stop it with: make cluster-down"
    )
    return 0


def sync_a_payload(demo: Demo) -> None:
    demo.step("1. CI hands the production payload over as a Secret")
    demo.write_source("app-env", PRODUCTION_ENV_FILE)
    demo.say("kubectl create secret generic app-env --from-file=.env=.env.production")

    demo.step("2. An EnvPayload turns it into the application's Secret")
    demo.apply_manifest(
        f"""
apiVersion: envpayload.io/v1alpha1
kind: EnvPayload
metadata:
  name: shop
  namespace: {NAMESPACE}
spec:
  source:
    secretRef: {{name: app-env}}
  target: {{name: shop-env}}
  validation:
    required: [DB_HOST, DB_USER, DB_PASSWORD]
"""
    )
    demo.wait_ready("shop")
    demo.kubectl("get", "envpayload", "shop")
    demo.show_secret_keys("shop-env")
    demo.show_status("shop")


def rotate_a_credential(demo: Demo) -> None:
    demo.step("3. Quarterly rotation: CI updates DB_PASSWORD in the source")
    before = demo.status("shop")["lastChangeTime"]
    time.sleep(1.1)  # so the change time visibly moves
    demo.write_source("app-env", PRODUCTION_ENV_FILE.replace("pw-2026-q4", "pw-2027-q1"))
    demo.wait_for_change("shop", since=before)
    demo.show_events("shop", "Synced", containing="updated")
    demo.show_status("shop")


def refuse_a_broken_payload(demo: Demo) -> None:
    demo.step("4. A payload pasted wrong is refused; the last good Secret stays")
    broken = PRODUCTION_ENV_FILE.replace('API_SIGNING_KEY="', "API_SIGNING_KEY=")
    version = demo.secret_version("shop-env")
    demo.write_source("app-env", broken)
    demo.wait_ready("shop", status="False")
    demo.kubectl("get", "envpayload", "shop")
    demo.show_events("shop", "InvalidPayload")
    demo.show_alert("Failing", "shop")
    unchanged = demo.secret_version("shop-env") == version
    demo.say(f"Secret shop-env untouched: {'yes' if unchanged else 'NO'}")
    if not unchanged:
        raise DemoError("the Secret changed although the payload was refused")

    demo.step("5. The fix lands and the EnvPayload recovers")
    demo.write_source("app-env", PRODUCTION_ENV_FILE.replace("pw-2026-q4", "pw-2027-q1"))
    demo.wait_ready("shop")
    demo.kubectl("get", "envpayload", "shop")
    demo.show_alert("Recovered", "shop")


def seal_a_payload(demo: Demo) -> None:
    demo.step("6. A sealed payload: safe in git, opened only by the operator, only here")
    demo.cli("keys", "list")
    sealed = demo.cli(
        "seal",
        "--namespace",
        NAMESPACE,
        "--name",
        "shop-sealed",
        "--format",
        "manifest",
        stdin=PRODUCTION_ENV_FILE,
        capture=True,
        shown=f"envpayload seal --namespace {NAMESPACE} --name shop-sealed --format manifest"
        " < .env.production > shop-sealed.yaml",
    )
    envelope = next(line for line in sealed.splitlines() if "esv1." in line).strip()
    demo.say(f"shop-sealed.yaml holds one line of ciphertext: {envelope[:60]}...")
    demo.kubectl("create", "-f", "-", stdin=sealed)
    demo.wait_ready("shop-sealed")
    demo.kubectl("get", "envpayload", "shop-sealed")
    first_key = demo.status("shop-sealed")["sealingKeyId"]
    demo.say(f"Opened with sealing key {first_key}")

    demo.step("7. Key rotation: new payloads are sealed with a new key, old ones still open")
    demo.cli("keys", "rotate")
    resealed = demo.cli(
        "seal",
        "--namespace",
        NAMESPACE,
        "--name",
        "shop-sealed",
        "--format",
        "manifest",
        stdin=PRODUCTION_ENV_FILE.replace("pw-2026-q4", "pw-2027-q1"),
        capture=True,
        shown=f"envpayload seal --namespace {NAMESPACE} --name shop-sealed --format manifest"
        " < .env.production | kubectl replace -f -",
    )
    demo.kubectl("replace", "-f", "-", stdin=resealed)
    demo.wait_for(
        lambda: demo.status("shop-sealed").get("sealingKeyId") != first_key, "the new key"
    )
    demo.wait_ready("shop-sealed")
    demo.say(f"Opened with sealing key {demo.status('shop-sealed')['sealingKeyId']} (no restart)")


if __name__ == "__main__":
    sys.exit(main())
