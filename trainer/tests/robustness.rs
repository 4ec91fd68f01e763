//! `glassbox robustness` (CheckList suites) and `glassbox eval --external` (out-of-distribution
//! sets) on the committed default bundle, each checked against `glassbox predict` run on the
//! same sentences: the failures a suite counts, and the scores an external set gets, must be
//! what the predictions users see imply.

mod cli_runner;
#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Output;

use cli_runner::glassbox;
use serde_json::Value;

const BUNDLE: &str = "public/models/default";

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("robustness");
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// `glassbox predict` on `texts`, one answer per text in order.
fn predict(texts: &[String]) -> Vec<Value> {
    let input = tmp("predict-input.txt");
    std::fs::write(&input, texts.join("\n") + "\n").unwrap();
    let out = glassbox(&[
        "predict",
        "--bundle",
        BUNDLE,
        "--input",
        input.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert!(out.status.success(), "predict failed: {}", stderr(&out));
    let answers: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), texts.len());
    answers
}

fn label(v: &Value) -> &str {
    v["sentence"]["label"].as_str().unwrap()
}

fn p(v: &Value, class: &str) -> f64 {
    v["sentence"]["probs"][class].as_f64().unwrap()
}

fn max_prob(v: &Value) -> f64 {
    let probs = v["sentence"]["probs"].as_object().unwrap();
    probs
        .values()
        .map(|x| x.as_f64().unwrap())
        .fold(0.0, f64::max)
}

// ---------------------------------------------------------------- CheckList

const THINGS: [&str; 3] = ["phone", "movie", "hotel"];
const ADJS: [&str; 3] = ["great", "terrible", "fine"];
const NAMES: [&str; 4] = [
    "John Smith",
    "Priya Sharma",
    "Chinedu Okafor",
    "Emily Johnson",
];

fn suite() -> String {
    format!(
        r#"
[lexicons]
thing = {THINGS:?}
adj = {ADJS:?}
name = {NAMES:?}

[[test]]
name = "says positive"
capability = "Vocabulary"
kind = "mft"
template = "The {{thing}} was {{adj}}."
expect = "positive"

[[test]]
name = "finds the person"
capability = "NER"
kind = "mft"
template = "Yesterday I met {{name}} at the station."
entity = "person"
slot = "name"

[[test]]
name = "ignores upper case"
capability = "Robustness"
kind = "inv"
template = "The {{thing}} was {{adj}}."
perturb = "upper"

[[test]]
name = "a complaint lowers positive"
capability = "Negation"
kind = "dir"
template = "I love the {{thing}}."
append = [", but it broke."]
label = "positive"
direction = "down"
tolerance = 0.1
"#
    )
}

fn run_suite(text: &str, name: &str) -> (Output, PathBuf) {
    let path = tmp(&format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    let out_dir = tmp(&format!("{name}-report"));
    let out = glassbox(&[
        "robustness",
        "--bundle",
        BUNDLE,
        "--suite",
        path.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    (out, out_dir)
}

fn test_result<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no test {name:?} in the report"))
}

fn counts(t: &Value) -> (u64, u64) {
    (
        t["cases"].as_u64().unwrap(),
        t["failures"].as_u64().unwrap(),
    )
}

#[test]
fn suite_failures_are_what_predict_answers_imply() {
    let (out, dir) = run_suite(&suite(), "small");
    assert!(out.status.success(), "{}", stderr(&out));
    let report = read_json(dir.join("robustness.json"));

    let product: Vec<(&str, &str)> = THINGS.iter().flat_map(|t| ADJS.map(|a| (*t, a))).collect();
    let reviews: Vec<String> = product
        .iter()
        .map(|(t, a)| format!("The {t} was {a}."))
        .collect();
    let met: Vec<String> = NAMES
        .iter()
        .map(|n| format!("Yesterday I met {n} at the station."))
        .collect();
    let loved: Vec<String> = THINGS.iter().map(|t| format!("I love the {t}.")).collect();
    let broke: Vec<String> = THINGS
        .iter()
        .map(|t| format!("I love the {t}, but it broke."))
        .collect();
    let upper: Vec<String> = reviews.iter().map(|r| r.to_uppercase()).collect();
    let all: Vec<String> = [&reviews, &met, &loved, &broke, &upper]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let answers = predict(&all);
    let (rv, rest) = answers.split_at(reviews.len());
    let (mt, rest) = rest.split_at(met.len());
    let (lv, rest) = rest.split_at(loved.len());
    let (br, up) = rest.split_at(broke.len());

    let not_positive = rv.iter().filter(|a| label(a) != "positive").count() as u64;
    assert_eq!(
        counts(test_result(&report, "says positive")),
        (9, not_positive)
    );

    // "Yesterday I met " is 16 characters: the name must be one person span over exactly it.
    let missed = NAMES
        .iter()
        .zip(mt)
        .filter(|(n, a)| {
            !a["entities"].as_array().unwrap().iter().any(|e| {
                e["label"] == "person" && e["start"] == 16 && e["end"] == 16 + n.chars().count()
            })
        })
        .count() as u64;
    assert_eq!(
        counts(test_result(&report, "finds the person")),
        (4, missed)
    );

    // The encoder is uncased: upper case reaches it as the same wordpieces, so nothing moves.
    assert!(rv.iter().zip(up).all(|(a, b)| label(a) == label(b)));
    assert_eq!(counts(test_result(&report, "ignores upper case")), (9, 0));

    let rose = lv
        .iter()
        .zip(br)
        .filter(|(a, b)| p(b, "positive") > p(a, "positive") + 0.1)
        .count() as u64;
    assert_eq!(
        counts(test_result(&report, "a complaint lowers positive")),
        (3, rose)
    );

    let md = std::fs::read_to_string(dir.join("robustness.md")).unwrap();
    for name in ["says positive", "finds the person", "ignores upper case"] {
        assert!(md.contains(name), "{name} missing from robustness.md");
    }
    let svg = std::fs::read_to_string(dir.join("robustness.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("says positive"));
}

#[test]
fn the_built_in_suite_covers_both_heads_and_reports_consistent_rates() {
    let out_dir = tmp("builtin-report");
    let out = glassbox(&[
        "robustness",
        "--bundle",
        BUNDLE,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = read_json(out_dir.join("robustness.json"));
    let declared = std::fs::read_to_string(common::root().join("configs/checklist.toml"))
        .unwrap()
        .lines()
        .filter(|l| l.trim() == "[[test]]")
        .count();
    let tests = report["tests"].as_array().unwrap();
    assert_eq!(tests.len(), declared);
    let (mut cases, mut failures) = (0, 0);
    for t in tests {
        let (c, f) = counts(t);
        assert!(c > 0 && f <= c, "{t}");
        let rate = t["failure_rate"].as_f64().unwrap();
        assert!((rate - f as f64 / c as f64).abs() < 1e-12, "{t}");
        assert_eq!(
            t["examples"].as_array().unwrap().len() as u64,
            f.min(5),
            "{}",
            t["name"]
        );
        (cases, failures) = (cases + c, failures + f);
    }
    for head in ["sentence", "token"] {
        assert!(tests.iter().any(|t| t["head"] == head), "no {head} test");
    }
    for kind in ["mft", "inv", "dir"] {
        assert!(tests.iter().any(|t| t["kind"] == kind), "no {kind} test");
    }
    assert_eq!(report["summary"]["cases"], cases);
    assert_eq!(report["summary"]["failures"], failures);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(tests[0]["name"].as_str().unwrap()),
        "{stdout}"
    );
}

#[test]
fn a_suite_with_an_unknown_label_or_bad_toml_is_refused_with_its_name() {
    let (out, _) = run_suite(
        &suite().replace("expect = \"positive\"", "expect = \"joyful\""),
        "bad-label",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("joyful"), "{}", stderr(&out));

    let (out, _) = run_suite("[[test]]\nname = \"x\"\nkind = \n", "bad-toml");
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(e.contains("bad-toml.toml") && e.contains("line 3"), "{e}");
}

// ---------------------------------------------------------------- out-of-distribution

const REVIEWS: [&str; 8] = [
    "The plot was thin but the acting carried it.",
    "A tedious, overlong film with nothing to say.",
    "An absolute delight from start to finish!",
    "I fell asleep halfway through.",
    "The soundtrack is wonderful and the cast is superb.",
    "It is a film about a family in Ohio.",
    "Worst two hours I have spent in a cinema.",
    "Charming, funny and surprisingly moving.",
];

const TWEETS: [&str; 5] = [
    "Justin Bieber played Madison Square Garden last night",
    "Barack Obama met Angela Merkel in Berlin today",
    "Flying from London to New York with British Airways",
    "Watching Game of Thrones on HBO with Emily tonight",
    "Apple just released the new iPhone in California",
];

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// CoNLL lines for `tweet` (words split on spaces), tagged with `answer`'s entities.
fn conll(tweet: &str, answer: &Value) -> (String, usize) {
    let mut starts = Vec::new();
    let mut at = 0;
    for w in tweet.split(' ') {
        starts.push((at, w));
        at += w.chars().count() + 1;
    }
    let mut tags = vec!["O".to_string(); starts.len()];
    let entities = answer["entities"].as_array().unwrap();
    for e in entities {
        let (s, end) = (
            e["start"].as_u64().unwrap() as usize,
            e["end"].as_u64().unwrap() as usize,
        );
        let ty = e["label"].as_str().unwrap();
        let inside: Vec<usize> = (0..starts.len())
            .filter(|&i| starts[i].0 >= s && starts[i].0 < end)
            .collect();
        assert_eq!(starts[inside[0]].0, s, "an entity starts on a word: {e}");
        for (k, &i) in inside.iter().enumerate() {
            tags[i] = format!("{}-{ty}", if k == 0 { "B" } else { "I" });
        }
    }
    let lines: String = starts
        .iter()
        .zip(&tags)
        .map(|((_, w), t)| format!("{w}\t{t}\n"))
        .collect();
    (lines + "\n", entities.len())
}

fn types_of(answers: &[Value]) -> Vec<String> {
    let mut types: Vec<String> = answers
        .iter()
        .flat_map(|a| a["entities"].as_array().unwrap().iter())
        .map(|e| e["label"].as_str().unwrap().to_string())
        .collect();
    types.sort();
    types.dedup();
    types
}

fn identity_map(types: &[String]) -> String {
    let pairs: Vec<String> = types.iter().map(|t| format!("\"{t}\" = \"{t}\"")).collect();
    format!("{{ {} }}", pairs.join(", "))
}

fn external(config: &str, name: &str) -> (Output, PathBuf) {
    let path = tmp(&format!("{name}.toml"));
    std::fs::write(&path, config).unwrap();
    let out_dir = tmp(&format!("{name}-ood"));
    let args = [
        "eval",
        "--bundle",
        BUNDLE,
        "--external",
        path.to_str().unwrap(),
        "--out",
    ];
    let out = glassbox(&[&args[..], &[out_dir.to_str().unwrap()]].concat());
    (out, out_dir)
}

fn set<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["set"]["name"] == name)
        .unwrap()
}

#[test]
fn external_sets_score_what_predict_answers_and_vader_is_banded() {
    let reviews: Vec<String> = REVIEWS.iter().map(|s| s.to_string()).collect();
    let tweets: Vec<String> = TWEETS.iter().map(|s| s.to_string()).collect();
    let answers = predict(&[reviews.clone(), tweets.clone()].concat());
    let (ra, ta) = answers.split_at(reviews.len());

    // Gold = predict's class (three-way), and predict's likelier of negative/positive (binary).
    let three: String = reviews
        .iter()
        .zip(ra)
        .map(|(r, a)| format!("{},{}\n", csv_field(r), label(a)))
        .collect();
    std::fs::write(tmp("three.csv"), format!("text,label\n{three}")).unwrap();
    let binary: String = reviews
        .iter()
        .zip(ra)
        .map(|(r, a)| {
            let lab = if p(a, "positive") > p(a, "negative") {
                "pos"
            } else {
                "neg"
            };
            format!("{}\n", serde_json::json!({"text": r, "label": lab}))
        })
        .collect();
    std::fs::write(tmp("binary.jsonl"), binary).unwrap();
    let mut tagged = String::new();
    let mut n_entities = 0;
    for (t, a) in tweets.iter().zip(ta) {
        let (lines, n) = conll(t, a);
        tagged += &lines;
        n_entities += n;
    }
    assert!(
        n_entities > 0,
        "the default model finds entities in these tweets"
    );
    std::fs::write(tmp("tweets.conll"), tagged).unwrap();
    let types = identity_map(&types_of(ta));

    let config = format!(
        r#"
seed = 1
[[sets]]
name = "three-way"
task = "sentiment"
file = "{three}"
format = "csv"
labels = {{ negative = "negative", neutral = "neutral", positive = "positive" }}

[[sets]]
name = "binary"
task = "sentiment"
file = "{binary}"
format = "jsonl"
labels = {{ neg = "negative", pos = "positive" }}

[[sets]]
name = "tweets"
task = "ner"
file = "{conll}"
format = "conll"
gold_types = {types}
model_types = {types}

[[sets]]
name = "vader"
task = "sentiment"
file = "{vader}"
format = "scored_tsv"
thresholds = [-0.5, 0.5]
bands = ["negative", "neutral", "positive"]
max_examples = 40
"#,
        three = tmp("three.csv").display(),
        binary = tmp("binary.jsonl").display(),
        conll = tmp("tweets.conll").display(),
        vader = common::root()
            .join("assets/vader/tweets_GroundTruth.txt")
            .display(),
    );
    let (out, dir) = external(&config, "agree");
    assert!(out.status.success(), "{}", stderr(&out));
    let report = read_json(dir.join("ood.json"));

    let three = set(&report, "three-way");
    assert_eq!(three["examples"], 8);
    assert_eq!(three["classification"]["accuracy"], 1.0, "{three}");
    let msp = ra.iter().map(max_prob).sum::<f64>() / ra.len() as f64;
    let got = three["detection"]["mean_max_softmax"].as_f64().unwrap();
    assert!(
        (got - msp).abs() < 1e-4,
        "mean max-softmax {got} vs predict's {msp}"
    );
    let auroc = three["detection"]["auroc_max_softmax"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&auroc));

    let binary = set(&report, "binary");
    assert_eq!(
        binary["classification"]["labels"],
        serde_json::json!(["negative", "positive"])
    );
    assert_eq!(binary["classification"]["accuracy"], 1.0, "{binary}");

    let spans = &set(&report, "tweets")["spans"]["micro"];
    assert_eq!(
        (spans["precision"].as_f64(), spans["recall"].as_f64()),
        (Some(1.0), Some(1.0)),
        "{spans}"
    );

    let sentiment = report["in_distribution"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["task"] == "sentiment")
        .unwrap();
    assert!(sentiment["examples"].as_u64() > Some(0), "{sentiment}");
    // A set over all three classes is compared with the whole test split as it is.
    let native = f(&sentiment["classification"]["macro_avg"]["f1"]);
    assert!((f(&three["own_test"]) - native).abs() < 1e-9, "{three}");
    for name in ["binary", "tweets"] {
        let own = f(&set(&report, name)["own_test"]);
        assert!(own > 0.0 && own <= 1.0, "{name}: {own}");
    }
    let md = std::fs::read_to_string(dir.join("ood.md")).unwrap();
    assert!(md.contains("three-way") && md.contains("tweets"));
    assert_vader_sample(set(&report, "vader"));
}

/// VADER's human means, banded at ±0.5, give three classes; a capped set scores its sample.
fn assert_vader_sample(vader: &Value) {
    assert_eq!(vader["examples"], 40);
    let c = &vader["classification"];
    assert_eq!(
        c["labels"],
        serde_json::json!(["negative", "neutral", "positive"])
    );
    let total: u64 = c["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(total, 40);
}

#[test]
fn a_label_outside_the_mapping_names_file_and_line_before_any_scoring() {
    std::fs::write(
        tmp("odd.csv"),
        "text,label\ngood film,1\nbad film,0\nodd film,7\n",
    )
    .unwrap();
    let config = format!(
        "[[sets]]\nname = \"odd\"\ntask = \"sentiment\"\nfile = \"{}\"\nformat = \"csv\"\nlabels = {{ \"0\" = \"negative\", \"1\" = \"positive\" }}\n",
        tmp("odd.csv").display()
    );
    let (out, _) = external(&config, "odd");
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains(&format!("{}:4:", tmp("odd.csv").display())) && e.contains("\"7\""),
        "{e}"
    );
    assert!(
        !e.contains("own test split"),
        "the file is checked first: {e}"
    );

    let (out, _) = external(&config.replace("\"sentiment\"", "\"topic\""), "no-task");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no task \"topic\""),
        "{}",
        stderr(&out)
    );

    let (out, _) = external(
        &config.replace("\"1\" = \"positive\"", "\"1\" = \"joyful\""),
        "no-class",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("joyful"), "{}", stderr(&out));
}

// ---------------------------------------------------------------- adversarial search

const VICTIMS: [&str; 4] = [
    "I love this phone, the camera is great.",
    "Worst customer service I have ever had.",
    "The soup was cold and tasteless.",
    "Had a wonderful time at the beach with friends.",
];

/// Optimal-string-alignment distance (an adjacent swap is one edit).
fn osa(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d: Vec<Vec<usize>> = (0..=a.len())
        .map(|i| {
            (0..=b.len())
                .map(|j| i.max(j) * usize::from(i == 0 || j == 0))
                .collect()
        })
        .collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let sub = d[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = sub.min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

fn attack(input: &str, method: &str, name: &str) -> (Output, Value) {
    attack_with(input, method, name, "0")
}

/// `glassbox attack` with the similarity constraint at `min_similarity` ("0": off).
fn attack_with(input: &str, method: &str, name: &str, min_similarity: &str) -> (Output, Value) {
    let path = tmp(&format!("{name}.jsonl"));
    std::fs::write(&path, input).unwrap();
    let out_dir = tmp(&format!("{name}-attack"));
    let out = glassbox(&[
        "attack",
        "--bundle",
        BUNDLE,
        "--input",
        path.to_str().unwrap(),
        "--method",
        method,
        "--max-changes",
        "2",
        "--seed",
        "3",
        "--min-similarity",
        min_similarity,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    (out, read_json(out_dir.join("attack.json")))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn attacks_are_what_predict_answers_for_the_texts_they_write() {
    let texts: Vec<String> = VICTIMS.iter().map(|s| s.to_string()).collect();
    let before = predict(&texts);
    let mut input: String = texts
        .iter()
        .zip(&before)
        .map(|(t, a)| format!("{}\n", serde_json::json!({"text": t, "label": label(a)})))
        .collect();
    let wrong = if label(&before[0]) == "negative" {
        "positive"
    } else {
        "negative"
    };
    input += &format!(
        "{}\n{}\n",
        serde_json::json!({"text": VICTIMS[0], "label": wrong}),
        r#"{"text": ""}"#
    );
    let (out, report) = attack(&input, "char", "char");
    assert_eq!(
        out.status.code(),
        Some(1),
        "one text is empty: {}",
        stderr(&out)
    );
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    assert_eq!(results[4]["status"], "skipped");
    assert_eq!(results[5]["status"], "error");
    assert!(
        results[5]["error"]
            .as_str()
            .unwrap()
            .contains("char.jsonl:6"),
        "{}",
        results[5]
    );

    let attacked = &results[..4];
    let adversarial: Vec<String> = attacked
        .iter()
        .map(|r| r["adversarial"].as_str().unwrap().to_string())
        .collect();
    let after = predict(&adversarial);
    for ((r, b), a) in attacked.iter().zip(&before).zip(&after) {
        let class = label(b);
        assert_eq!(r["label"], class);
        assert!((f(&r["p_label"]) - p(b, class)).abs() < 1e-4, "{r}");
        assert_eq!(r["adversarial_label"], label(a), "{r}");
        assert!((f(&r["p_label_after"]) - p(a, class)).abs() < 1e-4, "{r}");
        assert_eq!(r["status"] == "succeeded", label(a) != class, "{r}");
        let changes = r["changes"].as_array().unwrap();
        assert!(changes.len() <= 2, "{r}");
        assert_eq!(changes.is_empty(), r["adversarial"] == r["text"], "{r}");
        for c in changes {
            let (o, n) = (
                c["original"].as_str().unwrap(),
                c["replacement"].as_str().unwrap(),
            );
            assert_eq!(osa(o, n), 1, "{o} → {n}");
        }
    }
    let s = &report["summary"];
    let won = attacked
        .iter()
        .filter(|r| r["status"] == "succeeded")
        .count();
    assert!(
        (f(&s["success_rate"]) - won as f64 / 4.0).abs() < 1e-12,
        "{s}"
    );
    assert_eq!(
        (s["skipped"].as_u64(), s["errors"].as_u64()),
        (Some(1), Some(1))
    );
}

/// Whether some WordNet synset (Debian's wordnet-base) lists both words.
fn synonyms_in_wordnet(a: &str, b: &str) -> bool {
    let words = |line: &str| -> Vec<String> {
        let f: Vec<&str> = line.split(' ').collect();
        let n = usize::from_str_radix(f.get(3).unwrap_or(&"0"), 16).unwrap_or(0);
        (0..n)
            .filter_map(|k| f.get(4 + 2 * k))
            .map(|w| w.to_lowercase())
            .collect()
    };
    ["noun", "verb", "adj", "adv"].iter().any(|pos| {
        let text = std::fs::read_to_string(format!("/usr/share/wordnet/data.{pos}")).unwrap();
        text.lines().filter(|l| !l.starts_with(' ')).any(|l| {
            let ws = words(l);
            let base = |w: &str| w.split('(').next().unwrap().to_string();
            ws.iter().any(|w| base(w) == a) && ws.iter().any(|w| base(w) == b)
        })
    })
}

#[test]
fn synonym_attacks_replace_words_with_wordnet_synonyms() {
    let input: String = VICTIMS
        .iter()
        .map(|t| format!("{}\n", serde_json::json!({"text": t})))
        .collect();
    let (out, report) = attack(&input, "synonym", "synonym");
    assert!(out.status.success(), "{}", stderr(&out));
    let changes: Vec<&Value> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["changes"].as_array().unwrap())
        .collect();
    assert!(!changes.is_empty(), "some word was replaced: {report}");
    for c in changes {
        let (o, n) = (
            c["original"].as_str().unwrap().to_lowercase(),
            c["replacement"].as_str().unwrap().to_lowercase(),
        );
        assert!(
            synonyms_in_wordnet(&o, &n),
            "{o} → {n} is not a WordNet synonym pair"
        );
    }
}

/// Cosine similarities of `texts[1..]` to `texts[0]` by `glassbox similarity` with the
/// base sentence encoder.
fn similarities_to_first(texts: &[&str]) -> Vec<f64> {
    let mut args = vec!["similarity", "--format", "json"];
    args.extend_from_slice(texts);
    let out = glassbox(&args);
    assert!(out.status.success(), "similarity failed: {}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["cosine"][0].as_array().unwrap()[1..]
        .iter()
        .map(f)
        .collect()
}

#[test]
fn the_similarity_constraint_keeps_only_texts_glassbox_similarity_finds_close() {
    let input: String = VICTIMS
        .iter()
        .map(|t| format!("{}\n", serde_json::json!({"text": t})))
        .collect();
    let (free_out, free) = attack_with(&input, "both", "unconstrained", "0");
    let (out, bound) = attack_with(&input, "both", "constrained", "0.9");
    for o in [&free_out, &out] {
        assert!(o.status.success(), "{}", stderr(o));
    }
    // What the unconstrained search took includes texts the constraint must refuse.
    let far = free["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["changes"].as_array().unwrap().is_empty())
        .filter(|r| {
            let (t, a) = (
                r["text"].as_str().unwrap(),
                r["adversarial"].as_str().unwrap(),
            );
            similarities_to_first(&[t, a])[0] < 0.9
        })
        .count();
    assert!(far > 0, "no unconstrained change drifted below 0.9: {free}");
    assert!(free["results"][0].get("similarity").is_none());
    assert!(
        bound["summary"]["rejected"].as_u64().unwrap() > 0,
        "{}",
        bound["summary"]
    );
    // Every text the constrained search wrote stays at ≥ 0.9, as measured independently.
    for r in bound["results"].as_array().unwrap() {
        if r["changes"].as_array().unwrap().is_empty() {
            assert!(r.get("similarity").is_none(), "{r}");
            continue;
        }
        let (t, a) = (
            r["text"].as_str().unwrap(),
            r["adversarial"].as_str().unwrap(),
        );
        let measured = similarities_to_first(&[t, a])[0];
        assert!(measured >= 0.9 - 1e-4, "{a:?} is {measured} from {t:?}");
        assert!(
            (f(&r["similarity"]) - measured).abs() < 1e-4,
            "{r} vs {measured}"
        );
    }
}
