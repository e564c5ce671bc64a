//! Listing with prefix, marker, delimiter and page size, built on [`MetaStore::scan_objects`].
