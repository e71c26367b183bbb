//! Attachments of allocation requests and the file store that holds their files.
