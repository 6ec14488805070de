//! placeholder: the SQLite backend (being written)
