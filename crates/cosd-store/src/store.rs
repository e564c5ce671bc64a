//! [`Store`]: one metadata store plus one blob store, and the write protocol between them.
