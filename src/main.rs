/// Most of a file's work is many small, short-lived allocations (the syntax tree, the words of
/// shell commands, notes): mimalloc serves them at a fraction of the system allocator's cost.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(restage::run::main());
}
