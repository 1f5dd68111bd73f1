//! The validation report in a real browser: headless Chromium (Debian's package; `make
//! test-deps` installs it) loads the page from disk, its DOM has a row per expectation with
//! the right status, and its screenshot has the size asked for and shows the page's colours
//! (the red of a failed expectation, the green of a passed one), not a blank or error page.
//!
//! `#[ignore]`d: needs `chromium` on PATH (`make e2e` runs it).

use std::path::Path;
use std::process::Command;

use crate::cli::weir_data;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 900;
/// The report's colours: the FAILED verdict's badge, a failed and a passed status cell.
const RED: [u8; 3] = [0xcf, 0x22, 0x2e];
const FAIL_CELL: [u8; 3] = [0xff, 0xeb, 0xe9];
const PASS_CELL: [u8; 3] = [0xda, 0xfb, 0xe1];

fn chromium(args: &[&str]) -> std::process::Output {
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args([
            "--no-first-run",
            "--disable-extensions",
            "--allow-file-access-from-files",
        ])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("chromium: {e} (install it with `make test-deps`)"))
}

fn report(dir: &Path) -> String {
    let csv = "id,amount,code\n1,5,ABCDE\n2,,ABCD\n3,-4,ABCDE\n3,8,<b>x</b>\n";
    std::fs::write(dir.join("d.csv"), csv).unwrap();
    let suite = "expectations:
  - {type: expect_column_values_to_not_be_null, kwargs: {column: amount}}
  - {type: expect_column_values_to_be_unique, kwargs: {column: id}}
  - {type: expect_column_value_lengths_to_equal, kwargs: {column: code, value: 5}}
  - {type: expect_table_row_count_to_be_between, kwargs: {min_value: 1, max_value: 10}}
  - {type: expect_column_to_exist, kwargs: {column: id}}
";
    std::fs::write(dir.join("s.yaml"), suite).unwrap();
    let data = format!("file://{}/d.csv", dir.display());
    let page = format!("file://{}/report.html", dir.display());
    let s = dir.join("s.yaml").display().to_string();
    let out = weir_data(
        &[
            "validate", "--suite", &s, "--data", &data, "--report", &page,
        ],
        &dir.join("log"),
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    page
}

#[test]
#[ignore = "needs chromium (make test-deps; run by make e2e)"]
fn the_report_renders_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let page = report(dir.path());

    let dom = chromium(&["--dump-dom", &page]);
    assert!(dom.status.success(), "{dom:?}");
    let dom = String::from_utf8(dom.stdout).unwrap();
    assert_eq!(dom.matches("<tr class=\"fail\">").count(), 3, "{dom}");
    assert_eq!(dom.matches("<tr class=\"pass\">").count(), 2, "{dom}");
    assert!(
        dom.contains("FAILED: 2 of 5 expectations succeeded"),
        "{dom}"
    );
    // A value from the data is text, not markup.
    assert!(dom.contains("&lt;b&gt;x&lt;/b&gt;"), "{dom}");

    let png = dir.path().join("shot.png");
    let shot = chromium(&[
        &format!("--screenshot={}", png.display()),
        &format!("--window-size={WIDTH},{HEIGHT}"),
        &page,
    ]);
    assert!(shot.status.success(), "{shot:?}");
    let image = decode_png(&std::fs::read(&png).unwrap());
    assert_eq!((image.width, image.height), (WIDTH, HEIGHT));
    let count = |rgb: [u8; 3]| image.pixels().filter(|p| *p == rgb).count();
    let white = count([255, 255, 255]);
    assert!(white < image.pixels().count(), "a blank page");
    for (name, rgb) in [
        ("verdict", RED),
        ("failed cell", FAIL_CELL),
        ("passed cell", PASS_CELL),
    ] {
        assert!(count(rgb) > 300, "{name}: {} px of {rgb:02x?}", count(rgb));
    }
}

/// An 8-bit RGB or RGBA PNG, unfiltered.
struct Image {
    width: u32,
    height: u32,
    channels: usize,
    data: Vec<u8>,
}

impl Image {
    fn pixels(&self) -> impl Iterator<Item = [u8; 3]> + '_ {
        self.data
            .chunks_exact(self.channels)
            .map(|p| [p[0], p[1], p[2]])
    }
}

/// Just enough PNG for a browser's screenshot: IHDR, the IDAT stream, the five filters.
fn decode_png(bytes: &[u8]) -> Image {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut pos, mut idat, mut header) = (8, Vec::new(), None);
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let body = &bytes[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => header = Some(body.to_vec()),
            b"IDAT" => idat.extend_from_slice(body),
            _ => {}
        }
        pos += 12 + len;
    }
    let h = header.expect("IHDR");
    let width = u32::from_be_bytes(h[0..4].try_into().unwrap());
    let height = u32::from_be_bytes(h[4..8].try_into().unwrap());
    assert_eq!(h[8], 8, "bit depth");
    let channels = match h[9] {
        2 => 3,
        6 => 4,
        other => panic!("colour type {other}"),
    };
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&idat[..]), &mut raw).unwrap();
    let stride = width as usize * channels;
    let mut data = vec![0u8; stride * height as usize];
    for y in 0..height as usize {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= channels {
                data[y * stride + x - channels]
            } else {
                0
            };
            let b = if y > 0 { data[(y - 1) * stride + x] } else { 0 };
            let c = if x >= channels && y > 0 {
                data[(y - 1) * stride + x - channels]
            } else {
                0
            };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => paeth(a, b, c),
                other => panic!("filter {other}"),
            };
            data[y * stride + x] = line[x].wrapping_add(predicted);
        }
    }
    Image {
        width,
        height,
        channels,
        data,
    }
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}
