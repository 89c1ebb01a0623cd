//! Local AWS stand-ins.
