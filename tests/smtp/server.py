"""A second, independent SMTP server for bulletin's delivery tests: aiosmtpd
(https://aiosmtpd.aio-libs.org), with the strict behaviours smtp-sink lacks.

    server.py --dir FOLDER --mode MODE [--port N] [--pipelining] [--max-connections N]

Prints "listening on PORT" once it accepts connections, then serves until
killed. Each accepted message is written to FOLDER as one file: the
envelope (X-Mail-From, X-Rcpt-To, X-Mail-Options lines), then the message
as received.

Modes:
  normal              accepts everything; offers SMTPUTF8
  no-smtputf8         as normal, without SMTPUTF8
  refuse-second-ehlo  answers 503 to a second EHLO on a connection
  auth                requires AUTH PLAIN or LOGIN (user "bulletin",
                      password "test-password") over plain text; 530 to
                      MAIL without it
  starttls-refused    offers STARTTLS, answers it 454
  starttls-broken     offers STARTTLS, says 220, then sends no TLS at all
  starttls            STARTTLS that works, with server.pem (signed by ca.pem,
                      for 127.0.0.1 and localhost; test files, valid to 2126)
  tls                 TLS from the first byte, with the same certificate

Each message file also has an X-TLS line: the TLS version, or "none".
With --max-connections N, a connection beyond N open at once gets
"421 4.7.0 Error: too many connections" as its greeting, and is closed.
"""

import argparse
import asyncio
import itertools
import os
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

HERE = os.path.dirname(os.path.abspath(__file__))
USER = b"bulletin"
PASSWORD = b"test-password"


class Handler:
    def __init__(self, folder, pipelining, starttls):
        self.folder = folder
        self.counter = itertools.count(1)
        self.pipelining = pipelining
        self.starttls = starttls

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        extra = []
        if self.pipelining:
            extra.append("250-PIPELINING")
        if self.starttls:
            extra.append("250-STARTTLS")
        return responses[:-1] + extra + responses[-1:]

    async def handle_DATA(self, server, session, envelope):
        number = next(self.counter)
        tls = server.transport.get_extra_info("ssl_object")
        head = (
            f"X-TLS: {tls.version() if tls else 'none'}\r\n"
            f"X-Mail-From: {envelope.mail_from}\r\n"
            f"X-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
            f"X-Mail-Options: {' '.join(envelope.mail_options)}\r\n"
        ).encode("utf-8")
        path = os.path.join(self.folder, f"{number:06}.eml")
        with open(path + ".tmp", "wb") as out:
            out.write(head + envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 Ok: queued"


class Strict(SMTP):
    """aiosmtpd's server with the mode's strictness."""

    mode = "normal"
    # Counted when made by the factory: connections accepted in one go
    # reach connection_made only later.
    open_connections = set()

    def connection_lost(self, error):
        Strict.open_connections.discard(self)
        super().connection_lost(error)

    async def smtp_EHLO(self, hostname):
        if self.mode == "refuse-second-ehlo" and getattr(self, "_said_ehlo", False):
            await self.push("503 5.5.1 Error: duplicate EHLO")
            return
        self._said_ehlo = True
        await super().smtp_EHLO(hostname)

    async def smtp_STARTTLS(self, arg):
        if self.mode == "starttls-refused":
            await self.push("454 4.7.0 TLS not available due to local problem")
        elif self.mode == "starttls-broken":
            await self.push("220 2.0.0 Ready to start TLS")
            self.transport.write(b"this is not a TLS handshake\r\n")
            self.transport.close()
        else:
            await super().smtp_STARTTLS(arg)


class TooMany(asyncio.Protocol):
    """A connection over the limit: 421 and goodbye."""

    def connection_made(self, transport):
        transport.write(b"421 4.7.0 Error: too many connections\r\n")
        transport.close()


def connection(handler, options, most):
    """A server for one more connection, or a 421 when `most` are open."""
    if most and len(Strict.open_connections) >= most:
        return TooMany()
    server = Strict(handler, **options)
    Strict.open_connections.add(server)
    return server


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER,
        PASSWORD,
    )
    # handled=False: aiosmtpd answers 535 itself when it fails.
    return AuthResult(success=ok, handled=False)


async def serve(arguments):
    mode = arguments.mode
    handler = Handler(
        arguments.dir,
        pipelining=arguments.pipelining,
        starttls=mode in ("starttls-refused", "starttls-broken"),
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(
        os.path.join(HERE, "server.pem"), os.path.join(HERE, "server.key")
    )
    Strict.mode = mode
    options = dict(
        hostname="aiosmtpd.test",
        decode_data=False,
        enable_SMTPUTF8=mode != "no-smtputf8",
        auth_require_tls=False,
        auth_required=mode == "auth",
        authenticator=authenticate,
        tls_context=context if mode == "starttls" else None,
    )
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: connection(handler, options, arguments.max_connections),
        "127.0.0.1",
        arguments.port,
        ssl=context if mode == "tls" else None,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"listening on {port}", flush=True)
    await server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pipelining", action="store_true")
    parser.add_argument("--max-connections", type=int, default=0)
    parser.add_argument(
        "--mode",
        default="normal",
        choices=[
            "normal",
            "no-smtputf8",
            "refuse-second-ehlo",
            "auth",
            "starttls-refused",
            "starttls-broken",
            "starttls",
            "tls",
        ],
    )
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
