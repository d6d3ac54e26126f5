//! A connection's two halves: PDUs read as [`Frame`]s, and an [`Outbox`] whose
//! writer task sends whatever accumulated since its last write in one
//! `write` call.
//!
//! Batching is what keeps small PDUs (`submit_sm_resp`, `deliver_sm_resp`)
//! cheap: under load one system call carries hundreds of them, and with
//! `TCP_NODELAY` (set on every socket here) a lone one leaves at once instead
//! of waiting for a delayed ACK.
//!
//! A connection is a plain TCP socket ([`split_tcp`]) or any other byte
//! stream laid over one, such as TLS ([`split`]).

use std::io;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use rusmpp::Command;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::codec::FramedRead;

use crate::pdu::{self, Encoded, FrameDecoder};

pub type BoxRead = Box<dyn AsyncRead + Send + Unpin>;
pub type BoxWrite = Box<dyn AsyncWrite + Send + Unpin>;
pub type Reader = FramedRead<BoxRead, FrameDecoder>;

/// PDUs waiting to be written.
#[derive(Default)]
pub struct Outbox {
    state: Mutex<OutboxState>,
    ready: Notify,
}

#[derive(Default)]
struct OutboxState {
    buf: BytesMut,
    closed: bool,
}

impl Outbox {
    /// Queues `command`; false once the connection is closed.
    pub fn send(&self, command: &Command) -> bool {
        self.push(|buf| pdu::encode(command, buf))
    }

    /// Queues a pre-encoded PDU with `sequence_number`.
    pub fn send_encoded(&self, encoded: &Encoded, sequence_number: u32) -> bool {
        self.push(|buf| encoded.write(sequence_number, buf))
    }

    fn push(&self, write: impl FnOnce(&mut BytesMut)) -> bool {
        let mut state = self.state.lock().expect("outbox lock");
        if state.closed {
            return false;
        }
        write(&mut state.buf);
        drop(state);
        self.ready.notify_one();
        true
    }

    /// Stops accepting PDUs; the writer sends what is queued, then shuts the
    /// connection's write side down.
    pub fn close(&self) {
        self.state.lock().expect("outbox lock").closed = true;
        self.ready.notify_one();
    }

    pub fn is_closed(&self) -> bool {
        self.state.lock().expect("outbox lock").closed
    }
}

/// Starts the task that writes `outbox` to `writer` until the outbox is
/// closed (or the peer goes away, which closes it).
pub fn spawn_writer(mut writer: BoxWrite, outbox: Arc<Outbox>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let (chunk, closed) = {
                let mut state = outbox.state.lock().expect("outbox lock");
                (state.buf.split(), state.closed)
            };
            if !chunk.is_empty() {
                if writer.write_all(&chunk).await.is_err() {
                    outbox.close();
                    return;
                }
                continue;
            }
            // A TLS stream may keep records that the socket could not take
            // yet: push them out before waiting (a no-op on plain TCP).
            if writer.flush().await.is_err() {
                outbox.close();
                return;
            }
            if closed {
                let _ = writer.shutdown().await;
                return;
            }
            outbox.ready.notified().await;
        }
    })
}

/// Splits a TCP connection (with `TCP_NODELAY` set) into its two halves.
pub fn split_tcp(stream: TcpStream) -> io::Result<(Reader, BoxWrite)> {
    stream.set_nodelay(true)?;
    let (read, write) = stream.into_split();
    Ok(halves(Box::new(read), Box::new(write)))
}

/// Splits a stream laid over a socket (TLS) into its two halves. Set
/// `TCP_NODELAY` on the socket first, as [`split_tcp`] does.
pub fn split<S>(stream: S) -> (Reader, BoxWrite)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (read, write) = tokio::io::split(stream);
    halves(Box::new(read), Box::new(write))
}

fn halves(read: BoxRead, write: BoxWrite) -> (Reader, BoxWrite) {
    (FramedRead::new(read, FrameDecoder::default()), write)
}
