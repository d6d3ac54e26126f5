//! Answer formats: JSON or XML, chosen from `Accept` ([`Format::from_accept`])
//! or a parameter such as SMS Partner's `_format` ([`Format::from_name`]),
//! and the answer tree ([`Value`]) both are rendered from.
//!
//! Answers are built as a [`Value`] rather than serialised from structs so
//! that one tree renders to both formats with its fields in the provider's
//! order, and so that amounts keep their exact decimal text: a number is held
//! as the text it is written with (`0.045`, never an `f64`).
//!
//! XML rendering: an object is a sequence of child elements; a list held by
//! field `k` is one `<k>` element per item (an empty list, one empty `<k/>`);
//! null is an empty element; booleans are `true`/`false`.

use std::borrow::Cow;

use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use relais_core::money::Amount;

/// The format of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// `json` or `xml`, in any case.
    pub fn from_name(name: &str) -> Option<Format> {
        match name.trim().to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "xml" => Some(Format::Xml),
            _ => None,
        }
    }

    /// The format `Accept` prefers: of JSON (`application/json`, `…+json`)
    /// and XML (`application/xml`, `text/xml`, `…+xml`), the one with the
    /// higher quality, the first listed on a tie; `default` when `Accept` is
    /// absent or names neither (`*/*` included).
    pub fn from_accept(headers: &HeaderMap, default: Format) -> Format {
        let mut best: Option<(Format, f32)> = None;
        for value in headers.get_all(ACCEPT) {
            let Ok(value) = value.to_str() else { continue };
            for range in value.split(',') {
                let mut parts = range.split(';');
                let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
                let format = if essence == "application/json" || essence.ends_with("+json") {
                    Format::Json
                } else if essence == "application/xml"
                    || essence == "text/xml"
                    || essence.ends_with("+xml")
                {
                    Format::Xml
                } else {
                    continue;
                };
                let quality = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                if quality > 0.0 && best.is_none_or(|(_, q)| quality > q) {
                    best = Some((format, quality));
                }
            }
        }
        best.map_or(default, |(format, _)| format)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Xml => "application/xml; charset=utf-8",
        }
    }
}

/// A node of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    /// A number, as its exact JSON text.
    Number(String),
    String(String),
    List(Vec<Value>),
    Object(Object),
}

/// An object whose fields keep their insertion order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Object(Vec<(Cow<'static, str>, Value)>);

impl Object {
    pub fn new() -> Self {
        Object::default()
    }

    /// Adds a field (builder style).
    pub fn field(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Self {
        self.push(name, value);
        self
    }

    pub fn push(&mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        self.0.push((name.into(), value.into()));
    }
}

impl Value {
    /// An amount as a number with its exact decimal text (`0.045`, `2`).
    pub fn amount(amount: Amount) -> Value {
        Value::Number(amount.to_string())
    }

    /// An amount as a number with at least `places` decimals (`0.900`).
    pub fn amount_places(amount: Amount, places: u32) -> Value {
        Value::Number(amount.to_decimal_string(places))
    }

    pub fn list<T: Into<Value>>(items: impl IntoIterator<Item = T>) -> Value {
        Value::List(items.into_iter().map(Into::into).collect())
    }

    /// Renders as compact JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_json(self, &mut out);
        out
    }

    /// Renders as an XML document whose root element is `root`.
    pub fn to_xml(&self, root: &str) -> String {
        let mut writer = Writer::new(Vec::new());
        // Writing into a Vec cannot fail.
        let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        write_xml_element(&mut writer, root, self);
        String::from_utf8(writer.into_inner()).unwrap_or_default()
    }

    /// The answer in `format` with `status`; `xml_root` names the root element.
    pub fn respond(&self, format: Format, status: StatusCode, xml_root: &str) -> Response {
        let body = match format {
            Format::Json => self.to_json(),
            Format::Xml => self.to_xml(xml_root),
        };
        (
            status,
            [(
                CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            )],
            body,
        )
            .into_response()
    }
}

macro_rules! integer_values {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Value {
                Value::Number(n.to_string())
            }
        }
    )*};
}
integer_values!(i32, i64, u16, u32, u64, usize);

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<Object> for Value {
    fn from(o: Object) -> Value {
        Value::Object(o)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(items: Vec<T>) -> Value {
        Value::list(items)
    }
}

fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(text) => out.push_str(text),
        Value::String(s) => write_json_string(s, out),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(Object(fields)) => {
            out.push('{');
            for (i, (name, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(name, out);
                out.push(':');
                write_json(value, out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    // Serialising a string cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// The element name of an item of a list that is itself inside a list.
const NESTED_ITEM: &str = "item";

fn write_xml_element(writer: &mut Writer<Vec<u8>>, name: &str, value: &Value) {
    // Writing into a Vec cannot fail: the results are ignored.
    match value {
        Value::Null => {
            let _ = writer.write_event(Event::Empty(BytesStart::new(name)));
        }
        Value::List(items) if items.is_empty() => {
            let _ = writer.write_event(Event::Empty(BytesStart::new(name)));
        }
        Value::List(items) => {
            for item in items {
                match item {
                    Value::List(_) => {
                        let _ = writer.write_event(Event::Start(BytesStart::new(name)));
                        write_xml_element(writer, NESTED_ITEM, item);
                        let _ = writer.write_event(Event::End(BytesEnd::new(name)));
                    }
                    _ => write_xml_element(writer, name, item),
                }
            }
        }
        Value::Object(Object(fields)) => {
            let _ = writer.write_event(Event::Start(BytesStart::new(name)));
            for (field, value) in fields {
                write_xml_element(writer, field, value);
            }
            let _ = writer.write_event(Event::End(BytesEnd::new(name)));
        }
        Value::Bool(b) => write_xml_text(writer, name, if *b { "true" } else { "false" }),
        Value::Number(text) | Value::String(text) => write_xml_text(writer, name, text),
    }
}

fn write_xml_text(writer: &mut Writer<Vec<u8>>, name: &str, text: &str) {
    let _ = writer.write_event(Event::Start(BytesStart::new(name)));
    let _ = writer.write_event(Event::Text(BytesText::new(text)));
    let _ = writer.write_event(Event::End(BytesEnd::new(name)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, value.parse().unwrap());
        headers
    }

    #[test]
    fn accept_negotiation() {
        let xml = Format::Xml;
        assert_eq!(Format::from_accept(&HeaderMap::new(), xml), Format::Xml);
        assert_eq!(Format::from_accept(&accept("*/*"), xml), Format::Xml);
        assert_eq!(
            Format::from_accept(&accept("application/json"), xml),
            Format::Json
        );
        assert_eq!(
            Format::from_accept(&accept("Application/JSON; charset=utf-8"), xml),
            Format::Json
        );
        assert_eq!(
            Format::from_accept(&accept("text/xml, application/json"), xml),
            Format::Xml
        );
        assert_eq!(
            Format::from_accept(&accept("application/xml;q=0.5, application/json"), xml),
            Format::Json
        );
        assert_eq!(
            Format::from_accept(&accept("application/json;q=0"), xml),
            Format::Xml
        );
        assert_eq!(
            Format::from_accept(&HeaderMap::new(), Format::Json),
            Format::Json
        );
    }

    #[test]
    fn names() {
        assert_eq!(Format::from_name("XML"), Some(Format::Xml));
        assert_eq!(Format::from_name("json"), Some(Format::Json));
        assert_eq!(Format::from_name("csv"), None);
    }

    fn sample() -> Value {
        Object::new()
            .field("status", 1)
            .field("cost", Value::amount("0.045".parse().unwrap()))
            .field("ticket", "14")
            .field("text", "a < b & \"c\"")
            .field("none", Value::Null)
            .field("ok", true)
            .field(
                "gsm",
                vec![
                    Object::new().field("value", "336"),
                    Object::new().field("value", "337"),
                ],
            )
            .field("lists", Vec::<Value>::new())
            .into()
    }

    #[test]
    fn json_keeps_order_and_exact_numbers() {
        assert_eq!(
            sample().to_json(),
            r#"{"status":1,"cost":0.045,"ticket":"14","text":"a < b & \"c\"","none":null,"ok":true,"gsm":[{"value":"336"},{"value":"337"}],"lists":[]}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(parsed["cost"].to_string(), "0.045");
    }

    #[test]
    fn xml_repeats_list_elements_and_escapes_text() {
        assert_eq!(
            sample().to_xml("response"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><response><status>1</status><cost>0.045</cost>\
             <ticket>14</ticket><text>a &lt; b &amp; &quot;c&quot;</text><none/><ok>true</ok>\
             <gsm><value>336</value></gsm><gsm><value>337</value></gsm><lists/></response>"
        );
    }

    #[test]
    fn amounts_keep_their_decimals() {
        let a: Amount = "0.9".parse().unwrap();
        assert_eq!(Value::amount_places(a, 3), Value::Number("0.900".into()));
        assert_eq!(
            Value::amount(Amount::from_units(2)),
            Value::Number("2".into())
        );
    }
}
