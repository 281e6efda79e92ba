"""``make demo``: the whole job of envpayload-operator, end to end, on the local plane.

It starts the local control plane if it is not running, installs the CRD, runs the
operator, and then walks through what a platform team sees: a multi-line production
payload becomes a Secret; a rotated credential lands and restarts only the Deployment
that reads it; a broken payload is refused while the last good Secret stays (and an alert
reaches the webhook), then recovers; a sealed payload is opened, across a key rotation.
Every step prints what it does and what the cluster shows; values are never printed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import yaml

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
# The same payload after the quarterly rotation of DB_PASSWORD.
ROTATED_ENV_FILE = PRODUCTION_ENV_FILE.replace("pw-2026-q4", "pw-2027-q1")


def main() -> int:
    demo = Demo(REPO, NAMESPACE)
    try:
        demo.start()
        sync_a_payload(demo)
        deploy_two_consumers(demo)
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


def deploy_two_consumers(demo: Demo) -> None:
    demo.step("3. Two Deployments read the Secret, each its own keys")
    demo.apply_manifest(
        consumer("shop-web", {"env": [secret_key("DB_HOST"), secret_key("DB_PASSWORD")]})
    )
    demo.apply_manifest(
        consumer(
            "shop-signer",
            {"volumeMounts": [{"name": "signing", "mountPath": "/run/keys", "readOnly": True}]},
            volumes=[
                {
                    "name": "signing",
                    "secret": {
                        "secretName": "shop-env",
                        "items": [{"key": "API_SIGNING_KEY", "path": "key.pem"}],
                    },
                }
            ],
        )
    )
    demo.wait_available("shop-web")
    demo.wait_available("shop-signer")
    demo.kubectl("get", "deployments", "-o", "wide")


def rotate_a_credential(demo: Demo) -> None:
    demo.step("4. Quarterly rotation: CI updates DB_PASSWORD; only its reader restarts")
    before = demo.status("shop")["lastChangeTime"]
    revisions = {name: demo.revision(name) for name in ("shop-web", "shop-signer")}
    time.sleep(1.1)  # so the change time visibly moves
    demo.write_source("app-env", ROTATED_ENV_FILE)
    demo.wait_for_change("shop", since=before)
    demo.show_events("shop", "Synced", containing="updated")
    demo.wait_for_restart("shop", "shop-web")
    demo.show_events("shop-web", "Restarted")
    demo.kubectl("get", "replicasets")
    restarted = {name: demo.revision(name) != rev for name, rev in revisions.items()}
    demo.say(
        f"shop-web restarted: {'yes' if restarted['shop-web'] else 'NO'}; "
        f"shop-signer (reads API_SIGNING_KEY only) restarted: "
        f"{'YES' if restarted['shop-signer'] else 'no'}"
    )
    if restarted != {"shop-web": True, "shop-signer": False}:
        raise DemoError("the restarts did not follow the changed key")
    demo.show_status("shop")


def refuse_a_broken_payload(demo: Demo) -> None:
    demo.step("5. A payload pasted wrong is refused; the last good Secret stays")
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

    demo.step("6. The fix lands and the EnvPayload recovers")
    demo.write_source("app-env", ROTATED_ENV_FILE)
    demo.wait_ready("shop")
    demo.kubectl("get", "envpayload", "shop")
    demo.show_alert("Recovered", "shop")


def seal_a_payload(demo: Demo) -> None:
    demo.step("7. A sealed payload: safe in git, opened only by the operator, only here")
    demo.cli("keys", "list")
    sealed = seal_for_shop(demo, PRODUCTION_ENV_FILE, "> shop-sealed.yaml")
    envelope = next(line for line in sealed.splitlines() if "esv1." in line).strip()
    demo.say(f"shop-sealed.yaml holds one line of ciphertext: {envelope[:60]}...")
    demo.kubectl("create", "-f", "-", stdin=sealed, stdin_from="shop-sealed.yaml")
    demo.wait_ready("shop-sealed")
    demo.kubectl("get", "envpayload", "shop-sealed")
    first_key = demo.status("shop-sealed")["sealingKeyId"]
    demo.say(f"Opened with sealing key {first_key}")

    demo.step("8. Key rotation: new payloads are sealed with a new key, old ones still open")
    demo.cli("keys", "rotate")
    resealed = seal_for_shop(demo, ROTATED_ENV_FILE, "> shop-sealed.yaml")
    demo.kubectl("replace", "-f", "-", stdin=resealed, stdin_from="shop-sealed.yaml")
    demo.wait_for(
        lambda: demo.status("shop-sealed").get("sealingKeyId") != first_key, "the new key"
    )
    demo.wait_ready("shop-sealed")
    demo.say(f"Opened with sealing key {demo.status('shop-sealed')['sealingKeyId']} (no restart)")


def seal_for_shop(demo: Demo, payload: str, redirect: str) -> str:
    """An EnvPayload manifest for shop-sealed carrying ``payload`` sealed by the CLI."""
    args = ["seal", "--namespace", NAMESPACE, "--name", "shop-sealed", "--format", "manifest"]
    shown = " ".join(["envpayload", *args, "< .env.production", redirect])
    return demo.cli(*args, stdin=payload, capture=True, shown=shown)


def consumer(name: str, container: dict[str, Any], **pod: Any) -> str:
    """A one-replica Deployment of the shop whose container reads the Secret as given."""
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [{"name": "app", "image": "shop.example/app:1.4", **container}],
                    **pod,
                },
            },
        },
    }
    return yaml.safe_dump(manifest, sort_keys=False)


def secret_key(key: str) -> dict[str, Any]:
    """An environment variable read from one key of the shop's Secret."""
    return {"name": key, "valueFrom": {"secretKeyRef": {"name": "shop-env", "key": key}}}


if __name__ == "__main__":
    sys.exit(main())
