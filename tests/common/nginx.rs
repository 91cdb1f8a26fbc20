//! A private nginx on 127.0.0.1: its own config, pid file, error log,
//! temp folders and prefix in a temp dir, `daemon off` and `master_process
//! off` (one process, stopped by its PID when dropped, never by name), with
//! a self-signed certificate made by `openssl` for the server block to use.
//!
//! Without nginx or openssl a test skips with a loud message on a
//! developer's machine, and fails under CI (`tests/run.sh` installs them).

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct Nginx {
    child: Child,
    pub(crate) dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn skip(why: &str) -> Option<Nginx> {
    if std::env::var_os("CI").is_some() {
        panic!("{why}; tests/run.sh installs nginx and openssl (Debian packages nginx, openssl)");
    }
    eprintln!("\n*** SKIPPED: {why}; this test needs a private nginx ***\n");
    None
}

/// A free port on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Nginx {
    /// The folder holding the self-signed certificate and key for
    /// `name` (`cert.pem`, `key.pem`), made before nginx starts.
    pub(crate) fn prepare(name: &str) -> Option<tempfile::TempDir> {
        if !Path::new("/usr/sbin/nginx").exists() {
            skip("nginx is not installed (apt-get install nginx)")?;
        }
        let dir = tempfile::tempdir().unwrap();
        let made = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
            ])
            .args(["-days", "2", "-subj", &format!("/CN={name}")])
            .arg("-keyout")
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !made.is_ok_and(|s| s.success()) {
            skip("openssl could not make a certificate")?;
        }
        Some(dir)
    }

    /// nginx with `http` as the inside of its `http` block, in `dir` (from
    /// [`Nginx::prepare`]), once it accepts connections on `port`.
    pub(crate) fn start(dir: tempfile::TempDir, http: &str, port: u16) -> Nginx {
        let d = dir.path().display();
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log;\nevents {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
             {http}\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), config).unwrap();
        let child = Command::new("/usr/sbin/nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut nginx = Nginx { child, dir };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = nginx.child.try_wait().unwrap() {
                panic!("nginx exited ({status}):\n{}", nginx.error_log());
            }
            assert!(started.elapsed() < Duration::from_secs(10), "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    pub(crate) fn error_log(&self) -> String {
        let mut log = String::new();
        if let Ok(mut file) = std::fs::File::open(self.dir.path().join("error.log")) {
            let _ = file.read_to_string(&mut log);
        }
        log
    }
}
