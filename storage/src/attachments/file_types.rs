//! Attachment file types, guessed from the file name alone as the reference server guesses
//! them (Python's `mimetypes.guess_type`): the content is never inspected.

use keystone_config::ALLOWED_FILE_TYPES;

/// Extensions of the allowed types. The list matches the MIME map of the reference server's
/// container image (its `/etc/mime.types` plus Python's defaults), so the same names are
/// accepted. `md` and `markdown` are added: that image cannot resolve them although
/// `text/markdown` is on the allow-list.
const KNOWN_EXTENSIONS: &[(&str, &str)] = &[
    ("pdf", "application/pdf"),
    ("rtf", "application/rtf"),
    ("doc", "application/msword"),
    ("dot", "application/msword"),
    ("wiz", "application/msword"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("latex", "application/x-latex"),
    ("tex", "application/x-tex"),
    ("xls", "application/vnd.ms-excel"),
    ("xla", "application/vnd.ms-excel"),
    ("xlb", "application/vnd.ms-excel"),
    ("xlc", "application/vnd.ms-excel"),
    ("xlm", "application/vnd.ms-excel"),
    ("xlt", "application/vnd.ms-excel"),
    ("xlw", "application/vnd.ms-excel"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("ppt", "application/vnd.ms-powerpoint"),
    ("pot", "application/vnd.ms-powerpoint"),
    ("ppa", "application/vnd.ms-powerpoint"),
    ("pps", "application/vnd.ms-powerpoint"),
    ("pwz", "application/vnd.ms-powerpoint"),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("txt", "text/plain"),
    ("text", "text/plain"),
    ("conf", "text/plain"),
    ("def", "text/plain"),
    ("in", "text/plain"),
    ("ksh", "text/plain"),
    ("list", "text/plain"),
    ("log", "text/plain"),
    ("pl", "text/plain"),
    ("md", "text/markdown"),
    ("markdown", "text/markdown"),
    ("rtx", "text/richtext"),
    ("csv", "text/csv"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("jpe", "image/jpeg"),
    ("gif", "image/gif"),
    ("svg", "image/svg+xml"),
    ("svgz", "image/svg+xml"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("bmp", "image/bmp"),
];

/// Suffixes of compressed files. Like Python's `mimetypes`, one of them is skipped so the type
/// comes from the extension before it: `notes.txt.gz` is `text/plain`.
const COMPRESSION_SUFFIXES: &[&str] = &["gz", "Z", "bz2", "xz", "br"];

/// Guesses the MIME type of a file from its name, or `None` when the extension is unknown.
pub fn guess_mime_type(file_name: &str) -> Option<String> {
    let (stem, extension) = split_extension(file_name);
    let mut extension = extension?;
    if COMPRESSION_SUFFIXES.contains(&extension) {
        extension = split_extension(stem).1?;
    }
    let lower = extension.to_ascii_lowercase();
    if let Some((_, mime)) = KNOWN_EXTENSIONS.iter().find(|(known, _)| *known == lower) {
        return Some((*mime).to_string());
    }
    mime_guess::from_ext(&lower).first_raw().map(str::to_string)
}

/// Checks a file name against the allowed types and returns the reference's message for a
/// rejected one.
pub fn check_file_type(file_name: &str) -> Result<String, String> {
    match guess_mime_type(file_name) {
        None => Err("File type could not be resolved.".to_string()),
        Some(mime) if ALLOWED_FILE_TYPES.contains(&mime.as_str()) => Ok(mime),
        Some(mime) => Err(format!("File type '{mime}' is not allowed.")),
    }
}

/// Splits a name at its last dot, as Python's `os.path.splitext` does: dots at the start of
/// the name do not begin an extension. Returns the stem and the extension without its dot.
fn split_extension(name: &str) -> (&str, Option<&str>) {
    let leading_dots = name.len() - name.trim_start_matches('.').len();
    match name[leading_dots..].rfind('.') {
        Some(position) => {
            let dot = leading_dots + position;
            (&name[..dot], Some(&name[dot + 1..]))
        }
        None => (name, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_extension() {
        assert_eq!(guess_mime_type("report.pdf").as_deref(), Some("application/pdf"));
        assert_eq!(guess_mime_type("REPORT.PDF").as_deref(), Some("application/pdf"));
        assert_eq!(guess_mime_type("notes.txt.gz").as_deref(), Some("text/plain"));
        assert_eq!(guess_mime_type("drawing.svgz").as_deref(), Some("image/svg+xml"));
        assert_eq!(guess_mime_type("README.md").as_deref(), Some("text/markdown"));
        assert_eq!(guess_mime_type("archive.gz"), None);
        assert_eq!(guess_mime_type(".txt"), None);
        assert_eq!(guess_mime_type("noextension"), None);
        assert_eq!(guess_mime_type("file.qqqzzz"), None);
    }

    #[test]
    fn check_reports_the_reference_messages() {
        assert_eq!(check_file_type("a.csv"), Ok("text/csv".to_string()));
        assert_eq!(check_file_type("a.qqqzzz"), Err("File type could not be resolved.".to_string()));
        let rejected = check_file_type("a.json").unwrap_err();
        assert!(rejected.starts_with("File type '"), "{rejected}");
        assert!(rejected.ends_with("' is not allowed."), "{rejected}");
    }

    #[test]
    fn split_extension_ignores_leading_dots() {
        assert_eq!(split_extension("a.b.c"), ("a.b", Some("c")));
        assert_eq!(split_extension("..hidden"), ("..hidden", None));
        assert_eq!(split_extension("..x.txt"), ("..x", Some("txt")));
        assert_eq!(split_extension("plain"), ("plain", None));
    }
}
