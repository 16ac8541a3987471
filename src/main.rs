fn main() {
    std::process::exit(restage::run::main());
}
