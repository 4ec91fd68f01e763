//! Error analysis (filled in below).
