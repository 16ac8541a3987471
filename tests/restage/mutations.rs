//! Robustness: thousands of mangled variants of the fixtures (bytes deleted, lines duplicated or
//! dropped, shell and Dockerfile metacharacters inserted) go through every transform. Nothing may
//! panic or be refused, and whatever restage accepts must re-parse, keep every byte outside its
//! composed edits, and be a fixed point.

use restage::pipeline::PipelineError;
use restage::syntax;
use restage::transforms;

use crate::common::{check_edits, run_pipeline};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "\\",
    "\\\n",
    "\"",
    "'",
    "$",
    "${",
    "$(",
    "`",
    "<<EOF\n",
    "\nEOF\n",
    "&&",
    "||",
    ";",
    "|",
    ">",
    "#",
    "\n",
    "\r\n",
    "[",
    "]",
    "\"]",
    " ",
    "\t",
    "=",
    "--from=build",
    "--chown=1:1",
    "AS x",
    "\nFROM scratch\n",
    "\nRUN npm ci\n",
    "\nCOPY . .\n",
    "\nUSER root\n",
    "\nCMD x\n",
    "\u{feff}",
    "é",
    "\nONBUILD RUN x\n",
    "\nWORKDIR $X\n",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut s = text.to_string();
    for _ in 0..1 + rng.below(3) {
        let boundaries: Vec<usize> = (0..=s.len()).filter(|&i| s.is_char_boundary(i)).collect();
        let at = boundaries[rng.below(boundaries.len())];
        match rng.below(4) {
            0 => s.insert_str(at, PIECES[rng.below(PIECES.len())]),
            1 => {
                let end = boundaries[rng.below(boundaries.len())].max(at);
                let end = boundaries
                    .iter()
                    .copied()
                    .find(|&b| b >= end.min(at + 40))
                    .unwrap_or(s.len());
                s.replace_range(at..end, "");
            }
            2 => {
                let lines: Vec<&str> = s.split_inclusive('\n').collect();
                if !lines.is_empty() {
                    let l = rng.below(lines.len());
                    let mut out: Vec<&str> = lines.clone();
                    out.insert(l, lines[l]);
                    s = out.concat();
                }
            }
            _ => {
                let lines: Vec<&str> = s.split_inclusive('\n').collect();
                if lines.len() > 1 {
                    let l = rng.below(lines.len());
                    s = lines
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != l)
                        .map(|(_, x)| *x)
                        .collect();
                }
            }
        }
    }
    s
}

#[test]
fn mangled_fixtures_never_panic() {
    let ids: Vec<String> = transforms::registry()
        .iter()
        .map(|t| t.id.to_string())
        .collect();
    let files = crate::common::all_dockerfiles();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut accepted = 0;
    let mut runs = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for _ in 0..40 {
            let input = mutate(&text, &mut rng);
            let unsafe_fixes = rng.below(2) == 1;
            runs += 1;
            let result =
                std::panic::catch_unwind(|| run_pipeline(file, &input, &ids, unsafe_fixes));
            match result {
                Err(_) => panic!("{}: panic on input {input:?}", file.display()),
                Ok(Err(PipelineError::Syntax(_))) => {}
                // A refusal is how the pipeline reports a broken invariant (a transform's output
                // that does not parse, overlapping edits, no fixed point): a bug to fix.
                Ok(Err(PipelineError::Refused { transform, message })) => panic!(
                    "{}: {transform} refused ({message}) for input {input:?}",
                    file.display()
                ),
                Ok(Ok(o)) => {
                    accepted += 1;
                    check_edits(&format!("{} mangled {input:?}", file.display()), &o);
                    syntax::parse(&o.text).unwrap_or_else(|e| {
                        panic!(
                            "{}: output does not parse ({e}) for input {input:?}",
                            file.display()
                        )
                    });
                    let again =
                        run_pipeline(file, &o.text, &ids, unsafe_fixes).unwrap_or_else(|e| {
                            panic!(
                                "{}: second run failed ({e}) for input {input:?}",
                                file.display()
                            )
                        });
                    assert!(
                        again.applied.is_empty() && again.text == o.text,
                        "{}: not a fixed point for input {input:?}",
                        file.display()
                    );
                }
            }
        }
    }
    assert!(
        runs > 2000 && accepted > runs / 4,
        "{accepted} of {runs} mangled inputs accepted"
    );
}
