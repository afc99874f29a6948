"""Verifies a webhook from the unified directory service (Standard Webhooks).

The service signs `<webhook-id>.<webhook-timestamp>.<body>` with
HMAC-SHA256, keyed by the base64 part of the endpoint's "whsec_" secret, and
sends "v1,<base64 signature>" in webhook-signature (several space-separated
signatures may come during a secret rotation). A receiver checks the
signature on the raw body, refuses timestamps too far from its clock
(replays), and uses webhook-id to drop duplicates: delivery is at least
once.

    from verify_webhook import verify, WebhookError
    event = verify(secret, request.headers, raw_body)   # raises WebhookError

As a program (for tests):
    verify_webhook.py --secret whsec_... --id ID --timestamp TS \
        --signature SIG --body-file FILE [--tolerance SECONDS]
prints the event's type and exits 0, or prints why and exits 1.
"""

import argparse
import base64
import hashlib
import hmac
import json
import sys
import time


class WebhookError(Exception):
    """The delivery is not authentic (or too old, or malformed)."""


def verify(secret, headers, body, tolerance=300, now=None):
    """Returns the event (a dict) if `body` (bytes) is signed by `secret`."""
    if not secret.startswith("whsec_"):
        raise WebhookError("the secret must start with whsec_")
    key = base64.b64decode(secret[len("whsec_"):])
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id", "")
    stamp = lower.get("webhook-timestamp", "")
    signatures = lower.get("webhook-signature", "")
    if not msg_id or not stamp.isdigit() or not signatures:
        raise WebhookError("missing webhook headers")
    now = time.time() if now is None else now
    if abs(now - int(stamp)) > tolerance:
        raise WebhookError("timestamp outside the tolerance (a replay?)")
    signed = b".".join([msg_id.encode(), stamp.encode(), body])
    expected = base64.b64encode(
        hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return json.loads(body)
    raise WebhookError("no valid signature")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--timestamp", required=True)
    parser.add_argument("--signature", required=True)
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--tolerance", type=int, default=300)
    args = parser.parse_args()
    with open(args.body_file, "rb") as f:
        body = f.read()
    headers = {"webhook-id": args.id, "webhook-timestamp": args.timestamp,
               "webhook-signature": args.signature}
    try:
        event = verify(args.secret, headers, body, args.tolerance)
    except WebhookError as e:
        print("invalid:", e)
        return 1
    print("valid:", event["type"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
