//! Reading HTTP/1.1 messages off a socket, for the test servers (the Runtime API and the
//! fault proxy): headers, then a body by `Content-Length`, chunks, or up to the end.

use std::io::BufRead;

pub(crate) type Headers = Vec<(String, String)>;

/// The headers after a start line, `Content-Length` and whether the body is chunked.
/// `None` at the end of the stream or on a malformed line.
pub(crate) fn read_headers(reader: &mut impl BufRead) -> Option<(Headers, Option<usize>, bool)> {
    let mut headers = Vec::new();
    let (mut length, mut chunked) = (None, false);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().ok(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            _ => {}
        }
        headers.push((name, value));
    }
    Some((headers, length, chunked))
}

/// The body that follows: chunked, `Content-Length` bytes, or (`to_eof`, for answers without
/// a length) everything up to the end of the stream.
pub(crate) fn read_body(
    reader: &mut impl BufRead,
    length: Option<usize>,
    chunked: bool,
    to_eof: bool,
) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = length {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    } else if to_eof {
        reader.read_to_end(&mut body).ok()?;
    }
    Some(body)
}
