fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["common.proto", "auth.proto", "task.proto", "queue.proto"].map(|p| format!("../../proto/{p}"));
    println!("cargo:rerun-if-changed=../../proto");
    tonic_build::configure().compile_protos(&protos, &["../../proto".to_string()])?;
    Ok(())
}
