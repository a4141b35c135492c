# bench/payloads.py: the response bodies the benchmark serves and decodes, written into a
# scratch directory: the real 525-byte GET body and the 1,090-byte managePaymentSession body
# recorded from Medusa 1.20.11 (spec/support/fixtures), and a generated 1 MB collection with
# 2,000 payment sessions (deterministic, so every run decodes the same bytes).
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORDINGS = os.path.join(ROOT, "spec", "support", "fixtures", "medusa-v1-recordings.json")
COLLECTION_ID = "paycol_01M8BYPHXRGD7ZHY4WRJND4H48"
BIG_SESSIONS = 2000
BIG_TARGET_BYTES = 1024 * 1024


def compact(value):
    # JSON.stringify's bytes: what the Express backend sent.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def recorded(name):
    with open(RECORDINGS, encoding="utf-8") as f:
        for exchange in json.load(f)["exchanges"]:
            if exchange["name"] == name:
                return exchange
    raise SystemExit(f"payloads: no exchange {name!r} in {RECORDINGS}")


def big_collection(note_len):
    get = recorded("get-default")["response"]["body"]["payment_collection"]
    session = recorded("manage-session")["response"]["body"]["payment_collection"]["payment_sessions"][0]
    sessions = []
    for i in range(BIG_SESSIONS):
        s = dict(session)
        s["id"] = f"ps_01M8BYPJ{i:06d}E531EE4AA0C2W8"
        s["amount"] = 2 + i % 97
        s["is_selected"] = i % 3 == 0
        # Provider data as real providers store it: strings, integers, floats, booleans, nesting.
        s["data"] = {
            "status": "pending",
            "reference": f"pi_3NB{i:08d}qTz2eZvKYlo2C0XHf1R",
            "amount_received": i * 13,
            "fee_rate": 0.029 + i / 1e6,
            "captured": False,
            "metadata": {"attempt": i % 5, "note": "x" * note_len, "tags": ["web", "eu", "retry"]},
        }
        sessions.append(s)
    body = dict(get)
    body["amount"] = sum(s["amount"] for s in sessions)
    body["payment_sessions"] = sessions
    return {"payment_collection": body}


def write(directory):
    """Writes get.json, manage.json and big.json into directory; returns their paths."""
    os.makedirs(directory, exist_ok=True)
    base = len(compact(big_collection(0)))
    note_len = max(0, (BIG_TARGET_BYTES - base) // BIG_SESSIONS)
    bodies = {
        "get": compact(recorded("get-default")["response"]["body"]),
        "manage": compact(recorded("manage-session")["response"]["body"]),
        "big": compact(big_collection(note_len)),
    }
    assert len(bodies["get"]) == 525, len(bodies["get"])
    paths = {}
    for name, data in bodies.items():
        paths[name] = os.path.join(directory, name + ".json")
        with open(paths[name], "wb") as f:
            f.write(data)
    return paths


if __name__ == "__main__":
    import sys
    for name, path in write(sys.argv[1] if len(sys.argv) > 1 else "bench/build/payloads").items():
        print(name, os.path.getsize(path), path)
