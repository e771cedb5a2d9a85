use serde_json::Value;

use crate::byte_words::{each_byte, first_hit, word_at, zero_bytes};
use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::k8s;
use crate::meta::{Category, Scope};
use crate::rules::stored_values::stored_values;

/// The kubeconfig field (a cluster's) that turns off verification of the API server's certificate.
const INSECURE_SKIP: &str = "insecure-skip-tls-verify";

declare_rule! {
    /// A Kubernetes client proves who it is with its token; it knows it is talking to the real
    /// API server only by verifying the server's certificate against the cluster CA. The lesson
    /// is blunt: the mounted `ca.crt` "is the cluster's CA certificate. Without it, the
    /// Kubernetes client library can't verify the API server's TLS certificate and will either
    /// fail or (dangerously) skip verification … Never configure a Kubernetes client with
    /// insecure-skip-tls-verify: true in production." A kubeconfig with that setting hands its
    /// token to anyone who can intercept or redirect the connection (a spoofed DNS name, a
    /// compromised node or sidecar), and the token then works against the real API server.
    ///
    /// Fires on: a ConfigMap value (`data`, or `binaryData` base64-decoded) or a Secret value
    /// (`data` base64-decoded, or `stringData`) that sets `insecure-skip-tls-verify` to true —
    /// in YAML as `true`, `"true"`, `yes`, `on` (any case, quoted or not, also on the next line),
    /// or in JSON as `"insecure-skip-tls-verify": true`. Path `/data/<key>` (or `/stringData/<key>`,
    /// `/binaryData/<key>`, the key escaped); the message gives the line within the value. One
    /// finding per value, at its first such line.
    ///
    /// Does not fire on: the setting at `false` (or `no`, `off`); the text in a comment line or
    /// after a `#` that starts a comment; longer names that merely contain it; values that are
    /// not valid base64 in `data` of a Secret. The value is scanned line by line, in linear
    /// time, without parsing it, so a broken kubeconfig is read as far as it goes.
    ///
    /// Fix: remove the setting and give the cluster entry its CA: `certificate-authority:
    /// /var/run/secrets/kubernetes.io/serviceaccount/ca.crt` for a client inside the cluster (or
    /// better, no kubeconfig at all: client libraries use the mounted `ca.crt` and token by
    /// themselves), or `certificate-authority-data` with the cluster CA for a client outside it.
    ///
    /// No peer (kube-linter, Checkov, Kubescape, Kyverno, Polaris, Trivy) checks this.
    pub static RULE = {
        id: "SAG014",
        slug: "insecure-kubeconfig",
        title: "A kubeconfig skips TLS verification",
        category: Category::Credentials,
        default_level: Level::Deny,
        scope: Scope::Object,
        fixable: false,
        remediation: "Remove insecure-skip-tls-verify and set certificate-authority to the mounted \
            /var/run/secrets/kubernetes.io/serviceaccount/ca.crt (in the cluster) or certificate-authority-data to the \
            cluster CA (outside it); in-cluster clients need no kubeconfig at all.",
        references: &[
            "Lesson 39: ca.crt matters — never configure a Kubernetes client with insecure-skip-tls-verify: true in \
             production",
            "Kubernetes documentation: Organizing Cluster Access Using kubeconfig Files",
        ],
        peers: &[],
        check: check,
    };
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    for obj in cx.bundle.subjects().filter(|o| o.kind == "ConfigMap" || o.kind == "Secret") {
        for value in stored_values(obj) {
            // Most stored values (certificates, configs, blobs) never mention the key: one byte
            // scan rules them out before any text work.
            if !contains_ignoring_ascii_case(&value.bytes, INSECURE_SKIP.as_bytes()) {
                continue;
            }
            let text = String::from_utf8_lossy(&value.bytes);
            let Some((line, setting)) = insecure_skip_setting(&text) else { continue };
            let message = format!(
                "{} key {} holds a kubeconfig with {INSECURE_SKIP}: {setting} (line {line}), so its client does not \
                 verify the API server's certificate and sends its credentials to whoever answers",
                obj.kind, value.key
            );
            out.report(obj, value.path(), message);
        }
    }
}

/// Whether this rule reads a ConfigMap `data` value written as the JSON text `json` (quotes and
/// escapes included), judged without decoding it (see [`crate::projection`]): anything but a
/// string, a string with a `\u` escape, or one that mentions the key. Other escapes only write
/// quotes, slashes and control characters, so the decoded text mentions the key exactly when the
/// JSON text does.
pub(crate) fn reads_config_map_value(json: &str) -> bool {
    let (bytes, key) = (json.as_bytes(), INSECURE_SKIP.as_bytes());
    // The key's first `-` is at DASH_AT.
    const DASH_AT: usize = 8;
    const _: () = assert!(INSECURE_SKIP.as_bytes()[DASH_AT] == b'-');
    bytes.first() != Some(&b'"')
        || any_dash_or_unicode_escape(bytes, |at| match bytes[at] {
            b'\\' => true,
            _ => at
                .checked_sub(DASH_AT)
                .and_then(|start| bytes.get(start..start + key.len()))
                .is_some_and(|text| text.eq_ignore_ascii_case(key)),
        })
}

/// Whether `found` holds for any position of `bytes` with a `-`, or a `\` followed by `u`,
/// tried in order. Eight bytes at a time: configuration text has an escape (`\n`) on every
/// line, too many stops for memchr's search for `\` (see [`crate::byte_words`]).
fn any_dash_or_unicode_escape(bytes: &[u8], mut found: impl FnMut(usize) -> bool) -> bool {
    let mut at = 0;
    // Each word is read with the one a byte later, which holds the byte after each backslash.
    while at + 9 <= bytes.len() {
        let (here, next) = (word_at(bytes, at), word_at(bytes, at + 1));
        let mut hits = zero_bytes(here ^ each_byte(b'-'))
            | (zero_bytes(here ^ each_byte(b'\\')) & zero_bytes(next ^ each_byte(b'u')));
        while hits != 0 {
            if found(at + first_hit(hits)) {
                return true;
            }
            hits &= hits - 1;
        }
        at += 8;
    }
    (at..bytes.len()).any(|at| {
        let hit = bytes[at] == b'-' || (bytes[at] == b'\\' && bytes.get(at + 1) == Some(&b'u'));
        hit && found(at)
    })
}

/// The first line (1-based) that sets `insecure-skip-tls-verify` to true, with the value as written.
fn insecure_skip_setting(text: &str) -> Option<(usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        let content = without_comment(line);
        // ASCII lowering keeps byte offsets; client-go matches field names ignoring case.
        let lowered = content.to_ascii_lowercase();
        let mut from = 0;
        while let Some(found) = lowered[from..].find(INSECURE_SKIP) {
            let start = from + found;
            from = start + INSECURE_SKIP.len();
            if !starts_a_key(lowered.as_bytes(), start) {
                continue;
            }
            let next_line = lines.get(index + 1).copied();
            let Some(value) = value_after_key(&content[from..], next_line) else { continue };
            if k8s::as_bool(&Value::String(value.to_string())) == Some(true) {
                return Some((index + 1, value));
            }
        }
    }
    None
}

/// Whether `haystack` contains `needle` (lowercase ASCII), comparing ASCII case-insensitively.
/// memchr jumps between the candidates for one byte of the needle: one that is not a letter
/// when there is one (the `-` of `insecure-skip-tls-verify` is rare in text; its `i` is not).
fn contains_ignoring_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    let anchor = needle.iter().position(|b| !b.is_ascii_alphabetic()).unwrap_or(0);
    let (lower, upper) = (needle[anchor], needle[anchor].to_ascii_uppercase());
    memchr::memchr2_iter(lower, upper, &haystack[anchor.min(haystack.len())..])
        .any(|at| haystack.get(at..at + needle.len()).is_some_and(|candidate| candidate.eq_ignore_ascii_case(needle)))
}

/// The line up to a `#` that starts a comment: at the start or after whitespace, outside quoted
/// scalars (a quote opens one only where a scalar can start, so `don't` opens nothing).
fn without_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if b == b'\\' && q == b'"' {
                    escaped = true;
                } else if b == q {
                    quote = None;
                }
            }
            None if (b == b'"' || b == b'\'')
                && (i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b':' | b'{' | b'[' | b',')) =>
            {
                quote = Some(b)
            }
            None if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) => return &line[..i],
            None => {}
        }
    }
    line
}

/// Whether the match at `start` is the whole key, not part of a longer name (`--insecure-...`,
/// `my-insecure-...`).
fn starts_a_key(line: &[u8], start: usize) -> bool {
    start == 0 || matches!(line[start - 1], b' ' | b'\t' | b'{' | b',' | b'"' | b'\'')
}

/// The scalar after `<key>: `, unquoted; on the next line when the key ends its line (YAML
/// allows the value there). `None` when what follows is not a key/value separator.
fn value_after_key<'t>(after_key: &'t str, next_line: Option<&'t str>) -> Option<&'t str> {
    let rest = after_key.strip_prefix(['"', '\'']).unwrap_or(after_key).trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    if !rest.is_empty() {
        return Some(scalar(rest));
    }
    let next = without_comment(next_line?).trim();
    // a new key (or a nested mapping) is not a value
    (!next.contains(':')).then(|| scalar(next))
}

/// A YAML/JSON scalar at the start of `text`: quoted, or up to a separator. A `!!bool`-style tag
/// is skipped.
fn scalar(text: &str) -> &str {
    let text = match text.strip_prefix("!!") {
        Some(tagged) => tagged.find(char::is_whitespace).map_or("", |end| tagged[end..].trim_start()),
        None => text,
    };
    if let Some(quote) = text.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let inner = &text[1..];
        return inner.find(quote).map_or(inner, |end| &inner[..end]);
    }
    let end = text.find([',', '}', ']', ' ', '\t']).unwrap_or(text.len());
    &text[..end]
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::{
        any_dash_or_unicode_escape, contains_ignoring_ascii_case, insecure_skip_setting, reads_config_map_value,
        INSECURE_SKIP,
    };
    use crate::rules::testing::{admit_without_cluster, lint, located};

    const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\nclusters:\n  - name: production\n    cluster:\n      \
        server: https://kubernetes.default.svc\n      insecure-skip-tls-verify: true\nusers:\n  - name: legacy-client\n";

    fn config_map(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "client", "namespace": "production"}, "data": data})
    }

    fn b64(text: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn config_map_values_are_read_when_their_json_text_may_mention_the_key() {
        // The JSON text of a value, as the admission decoder sees it before decoding.
        let text = |value: &str| serde_json::to_string(value).unwrap();
        for (json, read) in [
            (text("listen: 8080\nlog: info\n"), false),
            (text(""), false),
            (text("--insecure-skip"), false),
            (text(KUBECONFIG), true),
            (text("Insecure-Skip-TLS-Verify: true"), true),
            (text("insecure-skip-tls-verify"), true),
            (text("x\ninsecure-skip-tls-verify"), true),
            (r#""insecure\u002dskip-tls-verify: true""#.to_string(), true),
            (r#""\u0041""#.to_string(), true),
            (r#""a\\u""#.to_string(), true), // an escaped backslash before `u`: read, to be safe
            ("7".to_string(), true),
            (r#"{"insecure-skip-tls-verify": true}"#.to_string(), true),
        ] {
            assert_eq!(reads_config_map_value(&json), read, "{json}");
            // never skips a value the rule would read
            if let Ok(Value::String(decoded)) = serde_json::from_str::<Value>(&json) {
                assert!(read || !contains_ignoring_ascii_case(decoded.as_bytes(), INSECURE_SKIP.as_bytes()), "{json}");
            }
        }
    }

    #[test]
    fn the_word_scan_stops_where_a_byte_scan_would() {
        let stops_of = |bytes: &[u8]| {
            let mut stops = Vec::new();
            assert!(!any_dash_or_unicode_escape(bytes, |at| {
                stops.push(at);
                false
            }));
            stops
        };
        let expected = |bytes: &[u8]| -> Vec<usize> {
            (0..bytes.len())
                .filter(|&at| bytes[at] == b'-' || (bytes[at] == b'\\' && bytes.get(at + 1) == Some(&b'u')))
                .collect()
        };
        // Every text of up to 9 bytes over these four: hits at each position of a word and of
        // the tail, next to each other, and a `\` whose `u` is the next word's first byte.
        let alphabet = *b"-\\ua";
        for len in 0..=9u32 {
            for n in 0..4usize.pow(len) {
                let bytes: Vec<u8> = (0..len).map(|i| alphabet[n / 4usize.pow(i) % 4]).collect();
                assert_eq!(stops_of(&bytes), expected(&bytes), "{bytes:?}");
            }
        }
        // Longer texts with bytes that have the high bit set or are zero (a carry between bytes
        // would show there).
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let bytes: Vec<u8> = state
                .to_le_bytes()
                .iter()
                .cycle()
                .take(8 + (state % 40) as usize)
                .map(|b| [b'-', b'\\', b'u', 0xff, 0, b'a'][*b as usize % 6])
                .collect();
            assert_eq!(stops_of(&bytes), expected(&bytes), "{bytes:?}");
        }
        // It stops at the first position `found` accepts.
        let mut tried = Vec::new();
        assert!(any_dash_or_unicode_escape(b"abcdefgh-\\u--", |at| {
            tried.push(at);
            at == 11
        }));
        assert_eq!(tried, [8, 9, 11]);
    }

    #[test]
    fn fires_on_a_config_map_kubeconfig() {
        let findings = lint("SAG014", &[config_map(json!({"kubeconfig": KUBECONFIG, "other": "x: 1"}))]);
        assert_eq!(located(&findings), [(
            "/data/kubeconfig",
            "ConfigMap key kubeconfig holds a kubeconfig with insecure-skip-tls-verify: true (line 7), so its client \
             does not verify the API server's certificate and sends its credentials to whoever answers"
        )]);
        assert_eq!(findings[0].object.to_string(), "ConfigMap production/client");
    }

    #[test]
    fn fires_on_secret_data_and_string_data_at_admission() {
        let findings = admit_without_cluster(
            "SAG014",
            json!({
                "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ci-kubeconfig", "namespace": "build"},
                "data": {"config/prod": b64(KUBECONFIG), "broken": "not base64!"},
                "stringData": {"config.json": r#"{"clusters": [{"cluster": {"server": "https://a #1", "insecure-skip-tls-verify":true}}]}"#},
            }),
        );
        assert_eq!(located(&findings), [
            (
                "/data/config~1prod",
                "Secret key config/prod holds a kubeconfig with insecure-skip-tls-verify: true (line 7), so its client \
                 does not verify the API server's certificate and sends its credentials to whoever answers"
            ),
            (
                "/stringData/config.json",
                "Secret key config.json holds a kubeconfig with insecure-skip-tls-verify: true (line 1), so its client \
                 does not verify the API server's certificate and sends its credentials to whoever answers"
            ),
        ]);
    }

    #[test]
    fn yaml_spellings_of_true() {
        for (text, expected) in [
            ("insecure-skip-tls-verify: true", Some((1, "true"))),
            ("    insecure-skip-tls-verify: \"true\"  # for now", Some((1, "true"))),
            ("  insecure-skip-tls-verify: 'yes'", Some((1, "yes"))),
            ("insecure-skip-tls-verify: On", Some((1, "On"))),
            ("Insecure-Skip-TLS-Verify: TRUE", Some((1, "TRUE"))),
            ("cluster: {server: x, insecure-skip-tls-verify: y}", Some((1, "y"))),
            ("- insecure-skip-tls-verify: !!bool true", Some((1, "true"))),
            ("a: 1\ninsecure-skip-tls-verify:\n  true\n", Some((2, "true"))),
            (r#"{"insecure-skip-tls-verify": false, "x": {"insecure-skip-tls-verify" : true}}"#, Some((1, "true"))),
            ("insecure-skip-tls-verify: false\ninsecure-skip-tls-verify: yes", Some((2, "yes"))),
        ] {
            assert_eq!(insecure_skip_setting(text), expected, "{text}");
        }
    }

    #[test]
    fn false_comments_and_look_alikes_pass() {
        for text in [
            "insecure-skip-tls-verify: false",
            "insecure-skip-tls-verify: \"no\"",
            "insecure-skip-tls-verify: off",
            "# insecure-skip-tls-verify: true",
            "    #insecure-skip-tls-verify: true",
            "server: https://x # insecure-skip-tls-verify: true",
            "name: don't # insecure-skip-tls-verify: true",
            "my-insecure-skip-tls-verify: true",
            "args: [--insecure-skip-tls-verify=true]",
            "insecure-skip-tls-verify-x: true",
            "insecure-skip-tls-verify: truest",
            "insecure-skip-tls-verify:\n  other: true",
            "insecure-skip-tls-verify:",
            "insecure-skip-tls-verify: \"",
            "insecure-skip-tls-verify: !!",
            "\"#\" insecure-skip-tls-verify ",
            "",
        ] {
            assert_eq!(insecure_skip_setting(text), None, "{text}");
        }
        let kubeconfig = KUBECONFIG.replace("insecure-skip-tls-verify: true", "certificate-authority: /ca.crt");
        assert!(lint("SAG014", &[config_map(json!({"kubeconfig": kubeconfig}))]).is_empty());
        // neither ConfigMap nor Secret
        assert!(
            lint("SAG014", &[json!({"kind": "Pod", "metadata": {"name": "p"}, "data": {"k": KUBECONFIG}})]).is_empty()
        );
    }

    #[test]
    fn long_and_hostile_values_stay_linear_and_never_panic() {
        let huge = format!("{}insecure-skip-tls-verify: true", "insecure-skip-tls-verify: no, ".repeat(50_000));
        assert_eq!(insecure_skip_setting(&huge), Some((1, "true")));
        for text in ["\u{1F600}insecure-skip-tls-verify: true", "insecure-skip-tls-verify:\u{e9}", "'''\"\"\\#", "\"\\"]
        {
            let _ = insecure_skip_setting(text);
        }
        assert_eq!(insecure_skip_setting("é insecure-skip-tls-verify: yes"), Some((1, "yes")));
    }

    #[test]
    fn the_byte_prefilter_ignores_ascii_case_only() {
        let key = INSECURE_SKIP.as_bytes();
        assert!(contains_ignoring_ascii_case(b"a: b\n  Insecure-Skip-TLS-Verify: true", key));
        assert!(contains_ignoring_ascii_case(b"iiiINSECURE-SKIP-TLS-VERIFY", key));
        assert!(!contains_ignoring_ascii_case(b"insecure-skip-tls-verif", key));
        assert!(!contains_ignoring_ascii_case(b"", key));
        assert!(!contains_ignoring_ascii_case(b"-", key));
        // The `-` it jumps to first belongs to no match; the needle at the very start and end.
        assert!(contains_ignoring_ascii_case(b"a-b insecure-skip-tls-verify", key));
        assert!(contains_ignoring_ascii_case(b"insecure-skip-tls-verify", key));
        assert!(!contains_ignoring_ascii_case(b"-skip-tls-verify insecure_skip_tls_verify", key));
        assert!(contains_ignoring_ascii_case(b"abc", b"b"), "a needle of letters only");
        // U+0130 (İ) is not ASCII: client-go would not read it as the key either.
        assert!(!contains_ignoring_ascii_case("\u{130}nsecure-skip-tls-verify".as_bytes(), key));
        let findings = lint(
            "SAG014",
            &[config_map(json!({"kubeconfig": "clusters:\n- cluster:\n    Insecure-Skip-TLS-Verify: true\n"}))],
        );
        assert_eq!(located(&findings), [("/data/kubeconfig", "ConfigMap key kubeconfig holds a kubeconfig with insecure-skip-tls-verify: true (line 3), so its client does not verify the API server's certificate and sends its credentials to whoever answers")]);
    }
}
