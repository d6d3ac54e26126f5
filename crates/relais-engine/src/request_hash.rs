//! The fingerprint of a send request, stored with its idempotency key so that
//! a retry (the same request) replays the first answer and the key reused for
//! another request is refused.
//!
//! It is taken over the request as the door translated it (text, recipients,
//! options, callback URLs, tag), not over the bytes of the HTTP body: two
//! bodies that differ only in layout, key order or encoding are the same
//! request. Every field is written with its length or tag, so no two
//! requests share one input.

use relais_core::encoding::EncodingMode;
use relais_core::plan::SendRequest;
use relais_store::CampaignMeta;
use sha2::{Digest, Sha256};

/// Hex SHA-256 of the canonical form of `request` and `meta` (its
/// idempotency record left out).
pub fn request_hash(request: &SendRequest, meta: &CampaignMeta) -> String {
    let mut hash = Canonical(Sha256::new());
    hash.text(request.text.as_deref());
    hash.count(request.recipients.len());
    for recipient in &request.recipients {
        hash.str(&recipient.number);
        hash.text(recipient.client_ref.as_deref());
        hash.text(recipient.text.as_deref());
    }
    hash.text(request.sender.as_deref());
    hash.str(request.kind.as_str());
    hash.time(request.send_at.map(|t| t.as_millisecond()));
    hash.time(request.expires_at.map(|t| t.as_millisecond()));
    hash.str(match request.encoding {
        EncodingMode::Auto => "auto",
        EncodingMode::Gsm7 => "gsm7",
        EncodingMode::Ucs2 => "ucs2",
    });
    hash.text(
        request
            .smart_encoding
            .map(|on| if on { "on" } else { "off" }),
    );
    hash.str(request.route_class.as_str());
    hash.str(request.channels.as_str());
    hash.str(&meta.source);
    hash.text(meta.callback_url.as_deref());
    hash.text(meta.reply_url.as_deref());
    hash.text(meta.callback_events.map(|e| e.as_str()));
    hash.text(meta.tag.as_deref());
    hex::encode(hash.0.finalize())
}

/// A hasher fed with self-delimiting fields.
struct Canonical(Sha256);

impl Canonical {
    fn count(&mut self, n: usize) {
        self.0.update((n as u64).to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        self.count(s.len());
        self.0.update(s.as_bytes());
    }

    fn text(&mut self, s: Option<&str>) {
        match s {
            None => self.0.update([0]),
            Some(s) => {
                self.0.update([1]);
                self.str(s);
            }
        }
    }

    fn time(&mut self, ms: Option<i64>) {
        match ms {
            None => self.0.update([0]),
            Some(ms) => {
                self.0.update([1]);
                self.0.update(ms.to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use relais_core::plan::Recipient;

    use super::*;

    fn request(numbers: &[&str], text: &str) -> SendRequest {
        SendRequest {
            text: Some(text.into()),
            recipients: numbers.iter().map(|n| Recipient::new(*n)).collect(),
            ..SendRequest::default()
        }
    }

    #[test]
    fn the_same_request_has_the_same_hash_and_any_change_another() {
        let meta = CampaignMeta::default();
        let base = request_hash(&request(&["+33612345678"], "Hi"), &meta);
        assert_eq!(base.len(), 64);
        assert_eq!(base, request_hash(&request(&["+33612345678"], "Hi"), &meta));
        assert_ne!(base, request_hash(&request(&["+33612345679"], "Hi"), &meta));
        assert_ne!(base, request_hash(&request(&["+33612345678"], "Ho"), &meta));
        // Fields are delimited: moving text between fields changes the hash.
        assert_ne!(
            request_hash(&request(&["+3361234567", "8"], "Hi"), &meta),
            request_hash(&request(&["+33612345678"], "Hi"), &meta)
        );
        let tagged = CampaignMeta {
            tag: Some("x".into()),
            ..CampaignMeta::default()
        };
        assert_ne!(
            base,
            request_hash(&request(&["+33612345678"], "Hi"), &tagged)
        );
    }
}
