//! W^X executable-page allocator (being written).
