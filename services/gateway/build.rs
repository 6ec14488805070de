//! The web front end (`web/`) is embedded into the binary by `rust-embed`, whose
//! `include_bytes!` makes cargo notice a changed file but not a new or removed one:
//! watching the folder rebuilds the gateway when its list of files changes too.

fn main() {
    println!("cargo::rerun-if-changed=web");
}
