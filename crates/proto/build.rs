//! Generates the wire types and the MilvusService server from `proto/*.proto`, using a
//! vendored `protoc` so a fresh machine needs none installed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; prost-build reads PROTOC from the env.
    unsafe { std::env::set_var("PROTOC", protoc) };
    let files: Vec<_> = std::fs::read_dir("proto")?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "proto"))
        .collect();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    tonic_prost_build::configure()
        // No generated `connect` constructor: it would clash with the `Connect` RPC.
        .build_transport(false)
        .build_client(true)
        .build_server(true)
        .compile_protos(&files, &[std::path::PathBuf::from("proto")])?;
    Ok(())
}
