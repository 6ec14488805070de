//! Compiles every `.proto` file under `proto/` with protox (pure Rust, no system
//! `protoc`) and generates prost types that also derive serde, so the same types are
//! the stored payloads, the JSON of the API and the live deltas.
//!
//! The compiled descriptors are also written to `OUT_DIR/metroplan.fds.bin` (an encoded
//! `FileDescriptorSet`), exposed as `metroplan_events::FILE_DESCRIPTOR_SET`, so that the
//! golden tests enumerate the event types from the protos themselves.
use prost::Message;
use std::path::{Path, PathBuf};

fn protos(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("proto directory is readable") {
        let path = entry.expect("proto entry").path();
        if path.is_dir() {
            protos(&path, out);
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let mut files = Vec::new();
    protos(&root, &mut files);
    files.sort();
    println!("cargo:rerun-if-changed={}", root.display());
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let descriptors = protox::compile(&files, [&root]).expect("proto files compile");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("metroplan.fds.bin"), descriptors.encode_to_vec())
        .expect("OUT_DIR is writable");
    let mut config = prost_build::Config::new();
    config
        .type_attribute(".", "#[derive(serde::Serialize, serde::Deserialize)]")
        .message_attribute(".", "#[serde(default)]")
        .enum_attribute(".", "#[serde(rename_all = \"snake_case\")]");
    config
        .compile_fds(descriptors)
        .expect("prost generates the Rust types");
    // A package without messages yet still gets its (empty) module.
    for package in ["metroplan.events.v1.rs", "metroplan.live.v1.rs"] {
        let file = out.join(package);
        if !file.exists() {
            std::fs::write(&file, "").expect("OUT_DIR is writable");
        }
    }
}
