use std::io;

// ANCHOR: main
fn main() {
    println!("Hello, {}!", "world");
}
// ANCHOR_END: main
