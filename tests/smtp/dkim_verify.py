"""Verifies every DKIM signature of each message file with dkimpy, the
independent verifier: `dkim_verify.py RECORDS MESSAGE...`, RECORDS a JSON
object of `selector._domainkey.domain` to its TXT record. Prints one line per
signature (`ok a=... h=...` or `bad ...`) and exits 1 when any fails."""

import json
import re
import sys

import dkim


def main():
    records = json.load(open(sys.argv[1]))

    def dns(name, timeout=5):
        return records.get(name.decode().rstrip("."), "").encode()

    bad = 0
    for path in sys.argv[2:]:
        message = open(path, "rb").read()
        # smtp-sink's dump starts with its own X-* lines: not part of the message.
        message = re.sub(rb"\A(X-(Mail|Rcpt)-Args:[^\n]*\n)+", b"", message)
        verifier = dkim.DKIM(message)
        count = len([h for h in verifier.headers if h[0].lower() == b"dkim-signature"])
        if count == 0:
            print(f"bad {path}: no signature")
            bad += 1
        for index in range(count):
            ok = verifier.verify(idx=index, dnsfunc=dns)
            tags = verifier.signature_fields
            line = f"a={tags[b'a'].decode()} c={tags[b'c'].decode()} h={tags[b'h'].decode()}"
            print(("ok " if ok else f"bad {path} ") + line)
            bad += not ok
    sys.exit(1 if bad else 0)


main()
