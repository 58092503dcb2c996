//! The `skillwal` command: a thin layer over the library (see `cli/`). `main` runs the
//! command and maps a failure to its exit code (`cli::Exit`, README "Exit codes").

mod cli;

fn main() -> std::process::ExitCode {
    let mut out = cli::Output::new(cli::json_requested());
    let code = match cli::run(&mut out) {
        Ok(code) => code,
        Err(e) => {
            let code = cli::Exit::of_error(&e);
            out.error(&e, code);
            code
        }
    };
    code.into()
}
