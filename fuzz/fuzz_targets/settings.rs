//! Settings as policy-server (validate_settings), the CLI and the playground (Settings::from_json)
//! read them. Invariants: never a panic; both readings agree on valid/invalid; valid settings
//! survive a round trip through their own JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sa_guard::admission::validate_settings;
use sa_guard::Settings;

fuzz_target!(|data: &[u8]| {
    let verdict = validate_settings(data);
    assert_eq!(verdict.valid, verdict.message.is_none(), "{verdict:?}");
    let Ok(text) = std::str::from_utf8(data) else {
        assert!(!verdict.valid, "invalid UTF-8 accepted as settings");
        return;
    };
    match Settings::from_json(text) {
        Ok(settings) => {
            assert!(verdict.valid, "from_json accepts what validate_settings refuses: {:?}", verdict.message);
            let json = serde_json::to_string(&settings).expect("settings serialize");
            assert_eq!(Settings::from_json(&json).as_ref(), Ok(&settings), "round trip through {json}");
        }
        Err(message) => {
            assert!(message.starts_with("invalid settings: "), "{message}");
            assert!(!verdict.valid, "validate_settings accepts what from_json refuses: {message}");
        }
    }
});
