//! x86-64 validator and signatures (being written).
