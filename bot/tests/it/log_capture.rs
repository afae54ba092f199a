//! Capturing what the bot logs, for the tests that check its logs, in a binary whose
//! other tests run at the same time on other threads.
//!
//! One global subscriber, installed once, writes each event (every level) to the
//! capture of the thread that logged it, and drops the events of threads that capture
//! nothing. A per-test `tracing::subscriber::set_default` is not enough here: while it is
//! the only subscriber, tracing caches each callsite's interest from whichever thread
//! reaches the callsite first, so a callsite first hit by another test's thread would
//! stay switched off for the capturing test too.
//!
//! A capture sees what runs on its own thread: the tests that use it run on tokio's
//! current-thread runtime, so every task they start logs there too.

use std::cell::RefCell;
use std::io::Write;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, Once};

use tracing_subscriber::filter::dynamic_filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

thread_local! {
    static CAPTURE: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
}

/// Everything logged on this thread from [`Capture::start`] until it is dropped.
pub struct Capture {
    buffer: Arc<Mutex<Vec<u8>>>,
    /// The capture belongs to the thread that started it.
    _thread: PhantomData<*const ()>,
}

impl Capture {
    pub fn start() -> Capture {
        install();
        let buffer = Arc::new(Mutex::new(Vec::new()));
        CAPTURE.with(|capture| *capture.borrow_mut() = Some(buffer.clone()));
        Capture { buffer, _thread: PhantomData }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        CAPTURE.with(|capture| capture.borrow_mut().take());
    }
}

fn capturing() -> bool {
    CAPTURE.with(|capture| capture.borrow().is_some())
}

/// Writes to the current thread's capture, if any.
struct ToThisThreadsCapture;

impl Write for ToThisThreadsCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|capture| {
            if let Some(buffer) = capture.borrow().as_ref() {
                buffer.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // A dynamic filter: its answer depends on the thread, so tracing asks it again at
        // every event instead of caching it per callsite (as a plain `filter_fn` would).
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(|| ToThisThreadsCapture)
            .with_filter(dynamic_filter_fn(|_, _| capturing()));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("no other global subscriber in the test binary");
    });
    // A callsite registered by another thread while the subscriber was being installed
    // may have cached "never"; ask every callsite again.
    tracing::callsite::rebuild_interest_cache();
}
