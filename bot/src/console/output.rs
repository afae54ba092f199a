//! Console output: one line per bot action, with the prefixes of the console contract,
//! and continuation lines indented by two spaces.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

/// Where console lines go. Clones write to the same place.
#[derive(Clone)]
pub struct Output {
    sink: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl Output {
    pub fn new(sink: Box<dyn Write + Send>) -> Self {
        Output { sink: Arc::new(Mutex::new(sink)) }
    }

    /// Writes `prefix` then `text`; every further line of `text` is indented by two spaces.
    pub fn emit(&self, prefix: &str, text: &str) {
        let mut lines = text.lines();
        let first = lines.next().unwrap_or("");
        let mut out = if prefix.is_empty() { first.to_string() } else { format!("{prefix} {first}") };
        for line in lines {
            out.push_str("\n  ");
            out.push_str(line);
        }
        out.push('\n');
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        // A closed stdout (a pipe into `head`) is not worth crashing the workspace over.
        let _ = sink.write_all(out.as_bytes());
        let _ = sink.flush();
    }

    /// Writes text without a newline (the interactive prompt).
    pub fn prompt(&self, text: &str) {
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = sink.write_all(text.as_bytes());
        let _ = sink.flush();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn continuation_lines_are_indented() {
        let shared = Shared::default();
        let output = Output::new(Box::new(shared.clone()));
        output.emit("[#general] incidentbot:", "one\ntwo");
        assert_eq!(
            String::from_utf8(shared.0.lock().unwrap().clone()).unwrap(),
            "[#general] incidentbot: one\n  two\n"
        );
    }
}
