//! Name resolution over all loaded modules. (Being written.)
