//! The `/incident` grammar: any text parses to a command or a usage error, without
//! panicking, and a parsed command's pieces are bounded by the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = commands::grammar::parse(text);
        for word in text.split_whitespace().take(8) {
            let _ = commands::grammar::parse_incident_ref(word);
            let _ = commands::grammar::parse_user(word);
        }
    }
});
