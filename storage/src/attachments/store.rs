//! The file store: attachment files under `<CONFIG_UPLOAD_DIR>/allocations/`.
//!
//! An upload is first written in full to a hidden temporary file in that folder
//! ([`FileStore::stage`]). The repository then links it under its final name inside the
//! database transaction that inserts the row, and keeps it only when the transaction commits.
//! [`StagedFile`] removes the temporary file, and a linked file that was not kept, when it is
//! dropped, so a rejected or failed upload leaves neither a file nor a row.
//!
//! Stored names are built from client file names by [`storage_name`], which keeps them inside
//! the folder: no directories, no `..`, no control characters, no leading dots.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::distributions::Alphanumeric;
use rand::Rng;

use crate::StorageError;

/// The folder under the upload root that contains attachment files, and the prefix of their
/// stored paths (`allocations/report.pdf`).
pub const FOLDER: &str = "allocations";

/// The maximum length, in characters, of a stored path such as `allocations/report.pdf`: the
/// length of the reference's `file` column.
pub const MAX_STORED_PATH: usize = 100;

/// The maximum length of a stored file name in bytes, below the 255 bytes that common Linux
/// file systems allow for one path component.
const MAX_NAME_BYTES: usize = 200;

/// Characters of the random suffix that makes a taken name unique: `report_a1B2c3D.pdf`.
const SUFFIX_LENGTH: usize = 7;

/// How many random suffixes to try before giving up on a taken name.
const NAME_ATTEMPTS: usize = 20;

/// Attachment files on disk.
#[derive(Clone, Debug)]
pub struct FileStore {
    folder: PathBuf,
}

impl FileStore {
    /// Creates a store whose files live in `<upload_dir>/allocations/`. Nothing is created
    /// until the first upload.
    pub fn new(upload_dir: &Path) -> FileStore {
        FileStore { folder: upload_dir.join(FOLDER) }
    }

    /// Returns the folder that contains the files.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// Writes `data` to a new temporary file in the store's folder, creating the folder when
    /// needed.
    pub async fn stage(&self, data: &[u8]) -> Result<StagedFile, StorageError> {
        let folder = self.folder.clone();
        let data = data.to_vec();
        let staged = tokio::task::spawn_blocking(move || write_temporary(&folder, &data))
            .await
            .map_err(|error| io_error("write an uploaded file", std::io::Error::other(error)))??;
        Ok(staged)
    }

    /// Returns the path on disk of a stored path such as `allocations/report.pdf`, or `None`
    /// when the value is not one this store writes (another folder, a nested path, a hidden
    /// name).
    pub fn path_of(&self, stored: &str) -> Option<PathBuf> {
        let name = stored.strip_prefix(FOLDER)?.strip_prefix('/')?;
        let safe = !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\']) && !name.chars().any(char::is_control);
        safe.then(|| self.folder.join(name))
    }

    /// Reads a stored file. A missing file or an unusable stored path is `NotFound`.
    pub async fn read(&self, stored: &str) -> Result<Vec<u8>, StorageError> {
        let path = self.path_of(stored).ok_or(StorageError::NotFound)?;
        match tokio::fs::read(&path).await {
            Ok(data) => Ok(data),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(StorageError::NotFound),
            Err(error) => Err(io_error(&format!("read the attachment file {}", path.display()), error)),
        }
    }

    /// Removes temporary upload files (`.upload-*.part`) last modified more than `age` ago:
    /// uploads cut short by a killed process. Younger ones may belong to an upload in flight
    /// on another node that shares the folder. Returns how many were removed.
    pub fn remove_stale_uploads(&self, age: std::time::Duration) -> usize {
        let entries = match std::fs::read_dir(&self.folder) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return 0,
            Err(error) => {
                tracing::warn!(folder = %self.folder.display(), error = %error, "failed to list the upload folder for stale uploads");
                return 0;
            }
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !(name.starts_with(".upload-") && name.ends_with(".part")) {
                continue;
            }
            let stale = entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .is_ok_and(|modified| modified.elapsed().is_ok_and(|elapsed| elapsed > age));
            if !stale {
                continue;
            }
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(error) => tracing::warn!(path = %entry.path().display(), error = %error, "failed to remove a stale upload file"),
            }
        }
        removed
    }

    /// Removes a stored file. Failures are logged, not returned: the row is already gone, and
    /// a leftover file only takes space.
    pub fn remove(&self, stored: &str) {
        let Some(path) = self.path_of(stored) else {
            tracing::warn!(file = stored, "left an attachment file in place because its stored path is outside the upload folder");
            return;
        };
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => tracing::warn!(path = %path.display(), error = %error, "failed to remove an attachment file"),
        }
    }
}

/// An uploaded file written to a temporary name, waiting for its database row.
#[derive(Debug)]
pub struct StagedFile {
    folder: PathBuf,
    temporary: PathBuf,
    /// The final path once [`StagedFile::link`] has claimed one.
    linked: Option<PathBuf>,
    kept: bool,
}

impl StagedFile {
    /// Links the file under `name` in the store's folder, or under `name` with a random
    /// suffix before its extension when that name is taken, and returns the stored path
    /// (`allocations/<name>`). Linking never replaces an existing file, so two uploads of the
    /// same name at once get different names.
    ///
    /// NOTE: this needs an upload folder on a file system with hard links, as the common Linux
    /// file systems are. Elsewhere every upload fails with an I/O error.
    pub fn link(&mut self, name: &str) -> Result<String, StorageError> {
        let (stem, extension) = split_name(name);
        for attempt in 0..=NAME_ATTEMPTS {
            let candidate = if attempt == 0 { name.to_string() } else { format!("{stem}_{}{extension}", random_suffix()) };
            let path = self.folder.join(&candidate);
            match std::fs::hard_link(&self.temporary, &path) {
                Ok(()) => {
                    self.linked = Some(path);
                    return Ok(format!("{FOLDER}/{candidate}"));
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(io_error(&format!("store the attachment file {}", path.display()), error)),
            }
        }
        Err(io_error(
            &format!("find a free name for the attachment file {name}"),
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "every candidate name is taken"),
        ))
    }

    /// Keeps the linked file, once its row is committed. The temporary file is still removed
    /// when the value is dropped.
    pub fn keep(&mut self) {
        self.kept = true;
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        let mut leftovers = vec![self.temporary.clone()];
        if !self.kept {
            leftovers.extend(self.linked.clone());
        }
        for path in leftovers {
            if let Err(error) = std::fs::remove_file(&path) {
                if error.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %error, "failed to remove an unused upload file");
                }
            }
        }
    }
}

fn write_temporary(folder: &Path, data: &[u8]) -> Result<StagedFile, StorageError> {
    std::fs::create_dir_all(folder).map_err(|error| io_error(&format!("create the upload folder {}", folder.display()), error))?;
    for _ in 0..NAME_ATTEMPTS {
        let temporary = folder.join(format!(".upload-{}.part", random_text(16)));
        let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).open(&temporary) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(io_error(&format!("create the upload file {}", temporary.display()), error)),
        };
        // From here on, dropping `staged` removes the temporary file.
        let staged = StagedFile { folder: folder.to_path_buf(), temporary, linked: None, kept: false };
        file.write_all(data)
            .and_then(|()| file.sync_all())
            .map_err(|error| io_error(&format!("write the upload file {}", staged.temporary.display()), error))?;
        return Ok(staged);
    }
    Err(io_error("create a temporary upload file", std::io::Error::new(std::io::ErrorKind::AlreadyExists, "every candidate name is taken")))
}

/// Builds the stored file name for a client's file name.
///
/// Only the last path component counts, whether the client separated directories with `/` or
/// `\`. Spaces become underscores, as Django's `get_valid_filename` does, and every character
/// other than letters, digits, `_`, `-` and `.` is dropped, which removes NUL and control
/// characters. Runs of dots become one dot, leading dots are dropped, and an empty stem
/// becomes `file`. The name is cut so that its stored path, even with a random suffix, fits
/// [`MAX_STORED_PATH`] characters and [`MAX_NAME_BYTES`] bytes; the extension is kept.
pub fn storage_name(client_name: &str) -> String {
    let base = client_name.rsplit(['/', '\\']).next().unwrap_or("");
    let mut cleaned = String::with_capacity(base.len());
    for character in base.trim().chars() {
        let character = if character == ' ' { '_' } else { character };
        let allowed = character.is_alphanumeric() || matches!(character, '_' | '-' | '.');
        if !allowed || (character == '.' && cleaned.ends_with('.')) {
            continue;
        }
        cleaned.push(character);
    }
    let (stem, extension) = match cleaned.rfind('.') {
        Some(position) => cleaned.split_at(position),
        None => (cleaned.as_str(), ""),
    };
    let extension: String = if extension == "." { String::new() } else { extension.chars().take(16).collect() };
    let stem = stem.trim_start_matches('.');
    let stem = if stem.is_empty() { "file" } else { stem };

    // Room for `allocations/`, the suffix `_xxxxxxx` and the extension.
    let max_characters = MAX_STORED_PATH - FOLDER.len() - 1 - (SUFFIX_LENGTH + 1) - extension.chars().count();
    let max_bytes = MAX_NAME_BYTES - (SUFFIX_LENGTH + 1) - extension.len();
    let mut kept = String::new();
    for character in stem.chars().take(max_characters) {
        if kept.len() + character.len_utf8() > max_bytes {
            break;
        }
        kept.push(character);
    }
    format!("{kept}{extension}")
}

/// Returns the file name the client sent without directories and control characters, which
/// is the default `name` of an attachment, or `None` when nothing usable is left (empty, `.`,
/// `..`).
pub fn client_base_name(client_name: &str) -> Option<String> {
    let base = client_name.rsplit(['/', '\\']).next().unwrap_or("");
    let printable: String = base.chars().filter(|character| !character.is_control()).collect();
    match printable.as_str() {
        "" | "." | ".." => None,
        _ => Some(printable),
    }
}

/// Splits a file name into its stem and its extension with the dot (`report`, `.pdf`); a dot
/// at the start does not begin an extension.
fn split_name(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(position) if position > 0 => (&name[..position], &name[position..]),
        _ => (name, ""),
    }
}

fn random_suffix() -> String {
    random_text(SUFFIX_LENGTH)
}

fn random_text(length: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(length).map(char::from).collect()
}

fn io_error(action: &str, source: std::io::Error) -> StorageError {
    StorageError::Io { action: action.to_string(), cause: source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_names_stay_inside_the_folder() {
        assert_eq!(storage_name("../../etc/passwd.txt"), "passwd.txt");
        assert_eq!(storage_name("..\\x.txt"), "x.txt");
        assert_eq!(storage_name("/etc/hosts.txt"), "hosts.txt");
        assert_eq!(storage_name("C:\\Users\\me\\notes.txt"), "notes.txt");
        assert_eq!(storage_name("a\0b.txt"), "ab.txt");
        assert_eq!(storage_name("line\nbreak.txt"), "linebreak.txt");
        assert_eq!(storage_name("...hidden.txt"), "hidden.txt");
        assert_eq!(storage_name("a..b...txt"), "a.b.txt");
        assert_eq!(storage_name(".."), "file");
        assert_eq!(storage_name(".txt"), "file.txt");
        assert_eq!(storage_name("trailing."), "trailing");
        assert_eq!(storage_name("my report (v2).pdf"), "my_report_v2.pdf");
        assert_eq!(storage_name("Überblick.pdf"), "Überblick.pdf");
        assert_eq!(storage_name("$%&.pdf"), "file.pdf");
    }

    #[test]
    fn storage_names_fit_the_column_with_a_suffix() {
        let long = format!("{}.pdf", "a".repeat(300));
        let name = storage_name(&long);
        assert!(name.ends_with(".pdf"));
        assert_eq!(FOLDER.len() + 1 + name.chars().count() + SUFFIX_LENGTH + 1, MAX_STORED_PATH);
        let wide = format!("{}.pdf", "語".repeat(300));
        let name = storage_name(&wide);
        // A taken name gets `_` and the random suffix before its extension.
        let suffixed_bytes = name.len() + "_".len() + SUFFIX_LENGTH;
        assert!(suffixed_bytes <= MAX_NAME_BYTES, "{suffixed_bytes} bytes");
        let suffixed_path = format!("{FOLDER}/{name}_{}", "x".repeat(SUFFIX_LENGTH));
        assert!(suffixed_path.chars().count() <= MAX_STORED_PATH, "{suffixed_path}");
    }

    #[test]
    fn stale_uploads_are_removed_and_the_rest_kept() {
        let root = tempfile::tempdir().expect("temporary folder");
        let store = FileStore::new(root.path());
        assert_eq!(store.remove_stale_uploads(std::time::Duration::from_secs(3600)), 0, "a missing folder holds nothing");
        std::fs::create_dir_all(store.folder()).expect("upload folder");
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        for name in [".upload-old.part", "report.pdf"] {
            let file = std::fs::File::create(store.folder().join(name)).expect("file");
            file.set_modified(two_hours_ago).expect("set the modification time");
        }
        std::fs::write(store.folder().join(".upload-fresh.part"), b"in flight").expect("file");

        assert_eq!(store.remove_stale_uploads(std::time::Duration::from_secs(3600)), 1);
        assert!(!store.folder().join(".upload-old.part").exists());
        assert!(store.folder().join(".upload-fresh.part").exists(), "an upload in flight was removed");
        assert!(store.folder().join("report.pdf").exists(), "a stored attachment was removed");
    }

    #[test]
    fn client_base_names() {
        assert_eq!(client_base_name("dir/sub\\Report 1.pdf").as_deref(), Some("Report 1.pdf"));
        assert_eq!(client_base_name("a\0b\u{7}.txt").as_deref(), Some("ab.txt"));
        assert_eq!(client_base_name("x/.."), None);
        assert_eq!(client_base_name(""), None);
    }

    #[test]
    fn stored_paths_outside_the_folder_are_refused() {
        let store = FileStore::new(Path::new("/uploads"));
        assert_eq!(store.path_of("allocations/a.txt"), Some(PathBuf::from("/uploads/allocations/a.txt")));
        assert_eq!(store.path_of("allocations/../a.txt"), None);
        assert_eq!(store.path_of("allocations/.."), None);
        assert_eq!(store.path_of("other/a.txt"), None);
        assert_eq!(store.path_of("allocations/a/b.txt"), None);
        assert_eq!(store.path_of("allocationsx/a.txt"), None);
    }

    #[tokio::test]
    async fn staged_files_are_removed_unless_kept() {
        let root = tempfile::tempdir().unwrap();
        let store = FileStore::new(root.path());

        let mut dropped = store.stage(b"one").await.unwrap();
        let stored = dropped.link("a.txt").unwrap();
        assert_eq!(stored, "allocations/a.txt");
        drop(dropped);
        assert_eq!(std::fs::read_dir(store.folder()).unwrap().count(), 0);

        let mut kept = store.stage(b"two").await.unwrap();
        assert_eq!(kept.link("a.txt").unwrap(), "allocations/a.txt");
        kept.keep();
        let mut second = store.stage(b"three").await.unwrap();
        let renamed = second.link("a.txt").unwrap();
        second.keep();
        assert!(renamed.starts_with("allocations/a_"), "{renamed}");
        assert!(renamed.ends_with(".txt"), "{renamed}");
        assert_eq!(renamed.len(), "allocations/a_.txt".len() + SUFFIX_LENGTH);
        assert_eq!(store.read("allocations/a.txt").await.unwrap(), b"two");
        assert_eq!(store.read(&renamed).await.unwrap(), b"three");
        drop(kept);
        drop(second);
        assert_eq!(std::fs::read_dir(store.folder()).unwrap().count(), 2, "only the two kept files remain");

        store.remove("allocations/a.txt");
        assert!(matches!(store.read("allocations/a.txt").await, Err(StorageError::NotFound)));
    }
}
