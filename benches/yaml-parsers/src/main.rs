//! The floor under the CLI's and the playground's speed: how fast each maintained Rust YAML
//! event parser that reports source positions reads the same files, doing nothing with the
//! events. sa-guard's manifest front-end runs saphyr-parser and then builds its tree and
//! evaluates the rules, so it cannot be faster than saphyr-parser's line here; the others show
//! what switching parsers would buy. `scripts/bench-cli.sh` runs it on its corpus.
//!
//! Usage: `sa-guard-yaml-parser-floor DIR [RUNS]`; prints MB/s per parser (best of RUNS, CPU
//! time of this thread).

use std::time::Duration;

use cpu_time::ThreadTime;

fn saphyr(text: &str) -> usize {
    sa_guard::manifest::count_yaml_events(text).expect("the corpus is valid YAML")
}

fn libyaml_safer(text: &str) -> usize {
    let mut bytes = text.as_bytes();
    let mut parser = libyaml_safer::Parser::new();
    parser.set_input_string(&mut bytes);
    let mut events = 0;
    loop {
        let event = parser.parse().expect("the corpus is valid YAML");
        events += 1;
        if matches!(event.data, libyaml_safer::EventData::StreamEnd) {
            return events;
        }
    }
}

fn unsafe_libyaml(text: &str) -> usize {
    use unsafe_libyaml::*;
    // SAFETY: the libyaml API as documented: an initialized parser reads the string, which
    // outlives it; every event is deleted after use and the parser at the end.
    unsafe {
        let mut parser = std::mem::MaybeUninit::<yaml_parser_t>::uninit();
        assert!(yaml_parser_initialize(parser.as_mut_ptr()).ok);
        let mut parser = parser.assume_init();
        yaml_parser_set_input_string(&mut parser, text.as_ptr(), text.len() as u64);
        let mut events = 0;
        loop {
            let mut event = std::mem::MaybeUninit::<yaml_event_t>::uninit();
            assert!(yaml_parser_parse(&mut parser, event.as_mut_ptr()).ok, "the corpus is valid YAML");
            let mut event = event.assume_init();
            events += 1;
            let end = event.type_ == YAML_STREAM_END_EVENT;
            yaml_event_delete(&mut event);
            if end {
                break;
            }
        }
        yaml_parser_delete(&mut parser);
        events
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: sa-guard-yaml-parser-floor DIR [RUNS]");
    let runs: usize = args.next().map_or(3, |r| r.parse().expect("RUNS is a number"));
    let mut paths: Vec<_> = std::fs::read_dir(&dir).expect("a readable directory").map(|e| e.unwrap().path()).collect();
    paths.sort();
    let files: Vec<String> = paths.iter().map(|p| std::fs::read_to_string(p).expect("UTF-8 files")).collect();
    let megabytes = files.iter().map(String::len).sum::<usize>() as f64 / 1e6;

    let parsers: [(&str, fn(&str) -> usize); 3] = [
        ("saphyr-parser 0.3 (used by sa-guard)", saphyr),
        ("libyaml-safer 0.1", libyaml_safer),
        ("unsafe-libyaml 0.2", unsafe_libyaml),
    ];
    for (name, parse) in parsers {
        let mut best = Duration::MAX;
        let mut events = 0;
        for _ in 0..runs {
            // CPU time of this thread, so a busy neighbour on a shared machine does not count.
            let start = ThreadTime::now();
            events = files.iter().map(|text| parse(text)).sum::<usize>();
            best = best.min(start.elapsed());
        }
        println!("{name:<38} {:>6.1} MB/s per core ({events} events, best of {runs})", megabytes / best.as_secs_f64());
    }
}
