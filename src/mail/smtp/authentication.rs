//! Logging in: AUTH PLAIN, or LOGIN when the server offers only that.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::client::{Credentials, SmtpClient};
use super::connection::Connection;
use super::error::{Failure, Stage, What};

impl SmtpClient {
    /// AUTH PLAIN, or LOGIN when the server offers only that.
    pub(super) fn auth(&self, connection: &mut Connection, credentials: &Credentials) -> Result<(), Failure> {
        let offered = |name: &str| connection.offers.auth.iter().any(|m| m == name);
        if offered("PLAIN") {
            let token = BASE64.encode(format!("\0{}\0{}", credentials.user, credentials.password));
            self.command(connection, Stage::Auth, &format!("AUTH PLAIN {token}\r\n"))?;
        } else if offered("LOGIN") {
            for line in [
                "AUTH LOGIN".to_string(),
                BASE64.encode(&credentials.user),
                BASE64.encode(&credentials.password),
            ] {
                self.command(connection, Stage::Auth, &format!("{line}\r\n"))?;
            }
        } else {
            return Err(self.fail(
                Stage::Auth,
                What::Other(format!(
                    "credentials are configured, but the server offers no AUTH PLAIN or LOGIN (it offers: {})",
                    if connection.offers.auth.is_empty() {
                        "no AUTH at all".to_string()
                    } else {
                        connection.offers.auth.join(" ")
                    }
                )),
            ));
        }
        Ok(())
    }
}
