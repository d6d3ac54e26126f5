//! XML request bodies, read into serde types with quick-xml.
//!
//! Documents are refused before deserialising when they carry a DTD
//! (`<!DOCTYPE …>`) or reference an entity other than XML's five predefined
//! ones and character references: nothing is ever expanded, so entity tricks
//! (billion laughs, external entities) have nothing to work with.

use quick_xml::Reader;
use quick_xml::events::Event;
use serde::de::DeserializeOwned;

/// Why an XML body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("the body is not valid UTF-8 (at byte {0})")]
    Utf8(usize),
    #[error("DTDs (<!DOCTYPE …>) are not accepted")]
    Dtd,
    #[error("entity references other than &lt; &gt; &amp; &apos; &quot; are not accepted (&{0};)")]
    Entity(String),
    #[error("malformed XML: {0}")]
    Syntax(String),
    /// Well-formed, but not the expected document (missing or wrong elements).
    #[error("unexpected XML content: {0}")]
    Data(String),
}

const PREDEFINED: [&str; 5] = ["lt", "gt", "amp", "apos", "quot"];

/// Reads an XML document into `T`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, XmlError> {
    let text = std::str::from_utf8(bytes).map_err(|e| XmlError::Utf8(e.valid_up_to()))?;
    check(text)?;
    quick_xml::de::from_str(text).map_err(|e| XmlError::Data(e.to_string()))
}

/// Walks the document once: well-formed, no DTD, only predefined entities.
fn check(text: &str) -> Result<(), XmlError> {
    let mut reader = Reader::from_str(text);
    let mut seen_element = false;
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) if !seen_element => {
                return Err(XmlError::Syntax("no root element".into()));
            }
            Ok(Event::Eof) if depth > 0 => {
                return Err(XmlError::Syntax(
                    "the document ends inside an element".into(),
                ));
            }
            Ok(Event::Eof) => return Ok(()),
            Ok(Event::DocType(_)) => return Err(XmlError::Dtd),
            Ok(Event::GeneralRef(reference)) => {
                let name: &str = &reference;
                if !reference.is_char_ref() && !PREDEFINED.contains(&name) {
                    return Err(XmlError::Entity(name.to_owned()));
                }
            }
            Ok(Event::Start(_)) => {
                seen_element = true;
                depth += 1;
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Empty(_)) => seen_element = true,
            Ok(_) => {}
            Err(e) => return Err(XmlError::Syntax(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Doc {
        text: String,
        #[serde(default)]
        gsm: Vec<Gsm>,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Gsm {
        #[serde(rename = "@id")]
        id: Option<String>,
        #[serde(rename = "$text")]
        value: String,
    }

    #[test]
    fn reads_elements_attributes_and_predefined_entities() {
        let doc: Doc = parse(
            br#"<?xml version="1.0" encoding="UTF-8"?>
            <doc><text>a &amp; b &#233;</text><gsm id="1">336</gsm><gsm>337</gsm></doc>"#,
        )
        .unwrap();
        assert_eq!(doc.text, "a & b é");
        assert_eq!(
            doc.gsm,
            vec![
                Gsm {
                    id: Some("1".into()),
                    value: "336".into()
                },
                Gsm {
                    id: None,
                    value: "337".into()
                }
            ]
        );
    }

    #[test]
    fn refuses_dtds_entities_and_garbage() {
        let dtd =
            br#"<?xml version="1.0"?><!DOCTYPE doc [<!ENTITY x "xx">]><doc><text>&x;</text></doc>"#;
        assert_eq!(parse::<Doc>(dtd).unwrap_err(), XmlError::Dtd);
        let entity = br#"<doc><text>&x;</text></doc>"#;
        assert_eq!(
            parse::<Doc>(entity).unwrap_err(),
            XmlError::Entity("x".into())
        );
        assert!(matches!(
            parse::<Doc>(b"<doc><text>a</doc>"),
            Err(XmlError::Syntax(_))
        ));
        assert!(matches!(parse::<Doc>(b""), Err(XmlError::Syntax(_))));
        assert!(matches!(
            parse::<Doc>(b"{\"json\": 1}"),
            Err(XmlError::Syntax(_))
        ));
        assert!(matches!(
            parse::<Doc>(b"<doc><other/></doc>"),
            Err(XmlError::Data(_))
        ));
        assert_eq!(
            parse::<Doc>(b"<doc>\xff</doc>").unwrap_err(),
            XmlError::Utf8(5)
        );
    }
}
