//! Other clients on one machine: the whole of 127.0.0.0/8 is loopback on
//! Linux, so a socket bound to 127.0.0.2 before it connects is, to the
//! server, another client than one from 127.0.0.1.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

/// A connection to `addr` (`127.0.0.1:PORT`) from `source` (`127.0.0.2`),
/// reads timing out after 10 s.
pub(crate) fn connect_from(source: &str, addr: &str) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let local: SocketAddr = format!("{source}:0").parse().unwrap();
    socket.bind(&local.into()).unwrap();
    let remote: SocketAddr = addr.parse().unwrap();
    socket.connect(&remote.into()).unwrap();
    let stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

/// This process's soft limit on open files (`ulimit -n`).
pub(crate) fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .expect("Max open files in /proc/self/limits")
}
