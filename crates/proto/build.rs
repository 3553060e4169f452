fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["common.proto", "auth.proto", "task.proto", "queue.proto"].map(|p| format!("../../proto/{p}"));
    println!("cargo:rerun-if-changed=../../proto");
    // Messages carrying secrets get a hand-written Debug (src/lib.rs) that hides them.
    tonic_build::configure()
        .skip_debug("cvat.task.v1.CloudAccess")
        .compile_protos(&protos, &["../../proto".to_string()])?;
    Ok(())
}
