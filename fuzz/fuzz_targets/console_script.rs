//! The console's line grammar: any line parses or is refused with a hint, without
//! panicking; a `/incident …` line goes on through the command grammar, as the
//! console runs it.
#![no_main]

use bot::console::script::{parse_duration, parse_line, ConsoleLine};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        if let Ok(ConsoleLine::Command { text, .. }) = parse_line(line) {
            let _ = commands::grammar::parse(&text);
        }
        let _ = parse_duration(line);
    }
});
