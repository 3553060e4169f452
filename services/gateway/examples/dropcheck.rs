use actix_web::{web, App, HttpServer};
struct Guard;
impl Drop for Guard {
    fn drop(&mut self) {
        eprintln!("handler dropped at {:?}", std::time::Instant::now());
    }
}
async fn slow() -> &'static str {
    let _g = Guard;
    eprintln!("start");
    tokio::time::sleep(std::time::Duration::from_secs(8)).await;
    eprintln!("finished");
    "ok"
}
#[actix_web::main]
async fn main() -> std::io::Result<()> {
    HttpServer::new(|| App::new().route("/", web::get().to(slow))).bind("127.0.0.1:18999")?.run().await
}
