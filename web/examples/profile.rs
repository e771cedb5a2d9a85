use std::time::Instant;
fn main() {
    let text = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        let m = sa_guard::manifest::parse(&text, &Default::default());
        let t1 = t.elapsed();
        let values = m.values();
        let r = sa_guard::evaluate(&values, &Default::default(), &Default::default());
        let t2 = t.elapsed();
        let out = sa_guard_web::lint(&text, "");
        let t3 = t.elapsed();
        println!("parse {:?} evaluate {:?} lint_total {:?} findings {} out {} KB", t1, t2 - t1, t3 - t2, r.findings.len(), out.len() / 1024);
    }
}
