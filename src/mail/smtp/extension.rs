//! What the server offers: the extensions of the one EHLO that matters
//! (said by the connection).

/// The extensions learnt from the one EHLO that matters (RFC 5321 4.1.1.1).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Offers {
    pub(super) pipelining: bool,
    pub(super) smtputf8: bool,
    pub(super) eight_bit_mime: bool,
    pub(super) starttls: bool,
    /// AUTH mechanisms, upper case.
    pub(super) auth: Vec<String>,
}

impl Offers {
    /// The keywords of an EHLO reply's lines after the first.
    pub(super) fn from_ehlo(text: &str) -> Offers {
        let mut offers = Offers::default();
        for line in text.lines().skip(1) {
            let mut words = line.split_whitespace();
            let Some(keyword) = words.next() else { continue };
            match keyword.to_ascii_uppercase().as_str() {
                "PIPELINING" => offers.pipelining = true,
                "SMTPUTF8" => offers.smtputf8 = true,
                "8BITMIME" => offers.eight_bit_mime = true,
                "STARTTLS" => offers.starttls = true,
                "AUTH" => offers.auth.extend(words.map(str::to_ascii_uppercase)),
                _ => {}
            }
        }
        offers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_the_extensions_from_one_ehlo_reply() {
        let offers = Offers::from_ehlo(
            "smtp.example\nPIPELINING\n8BITMIME\nauth plain LOGIN\nSTARTTLS\nSMTPUTF8\nSIZE 1000",
        );
        assert_eq!(
            offers,
            Offers {
                pipelining: true,
                smtputf8: true,
                eight_bit_mime: true,
                starttls: true,
                auth: vec!["PLAIN".into(), "LOGIN".into()],
            }
        );
        assert_eq!(
            Offers::from_ehlo("PIPELINING greets you"),
            Offers::default(),
            "the first line is the server's name"
        );
    }
}
