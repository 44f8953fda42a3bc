//! The `folio` command: parses arguments, calls the library, prints diagnostics, sets the exit code.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, CommandFactory as _, Parser, Subcommand};
use folio::diagnostic::{Diagnostic, Palette, Severity, escape_controls};
use folio::target::Target;
use folio::{Build, Settings};

mod serve;
mod watch;

/// Build valid, accessible, reproducible EPUB 3 books from Markdown, offline.
#[derive(Parser)]
#[command(name = "folio", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which book, read from where, for which reader: what build, watch and check share.
#[derive(Args)]
struct BookArgs {
    /// The book folder (the one holding book.toml); default `book`, else `.`.
    book: Option<PathBuf>,
    /// The reader to build for.
    #[arg(long, value_enum, default_value_t = Target::Epub)]
    target: Target,
    /// Allow reading from this ancestor of the book folder (for includes that reach `../`).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
}

/// Where a build writes: what build and watch share.
#[derive(Args)]
struct OutputArgs {
    /// Where to write the EPUB; default `dist/<slug>.epub` (`.kepub.epub` for kobo, `.kindle.epub` for kindle).
    #[arg(short, long, value_name = "OUT.epub")]
    output: Option<PathBuf>,
    /// Keep the build cache here instead of `.folio-cache/` beside the output.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Build a book folder into an EPUB.
    Build {
        #[command(flatten)]
        book: BookArgs,
        #[command(flatten)]
        output: OutputArgs,
        /// Build everything afresh, without reading or writing the cache.
        #[arg(long, conflicts_with = "cache_dir")]
        no_cache: bool,
        /// Print only diagnostics, no summary line.
        #[arg(short, long)]
        quiet: bool,
        /// Treat warnings as errors: any warning fails the build (exit 1) and no EPUB is written.
        #[arg(long)]
        strict: bool,
        /// Print every warning; by default only the first few of each kind are shown, with a count of the rest.
        #[arg(long)]
        all_warnings: bool,
    },
    /// Build, then rebuild on every change to the book folder until Ctrl-C.
    Watch {
        #[command(flatten)]
        book: BookArgs,
        #[command(flatten)]
        output: OutputArgs,
        /// Print every warning, not only the first few of each kind.
        #[arg(long)]
        all_warnings: bool,
    },
    /// Build, then serve a reader for the book at http://127.0.0.1:PORT that follows every save until Ctrl-C.
    Serve {
        #[command(flatten)]
        book: BookArgs,
        /// The port to serve on (0: any free port).
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// The address to serve on; anything but a loopback address lets other machines read the book.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Open the reader in the system's browser.
        #[arg(long)]
        open: bool,
        /// Print every warning, not only the first few of each kind.
        #[arg(long)]
        all_warnings: bool,
    },
    /// Check a book folder: everything `build` would report, writing nothing.
    Check {
        #[command(flatten)]
        book: BookArgs,
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
        /// Also run EPUBCheck (needs Java) on the package; its findings, warnings included, fail the check.
        #[arg(long)]
        epubcheck: bool,
        /// Print every warning, not only the first few of each kind.
        #[arg(long)]
        all_warnings: bool,
    },
    /// Run as an mdBook renderer: `[output.folio]` with `command = "folio mdbook"` in book.toml; reads
    /// mdBook's render context on standard input and writes the EPUB into the renderer's output folder.
    Mdbook {
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
        /// Print every warning, not only the first few of each kind.
        #[arg(long)]
        all_warnings: bool,
    },
    /// Publish books as a static download site: every target, cover, checksums, a page and an OPDS feed per
    /// book, and a shelf over them.
    Publish {
        /// The book folders; default `book`, else `.`.
        books: Vec<PathBuf>,
        /// The site folder (replaced whole; it must be new, empty or a site folio wrote).
        #[arg(short, long, value_name = "SITE_DIR", default_value = "site")]
        output: PathBuf,
        /// Allow reading from this ancestor of the book folders (for includes that reach `../`).
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Make the site from book folders published before, one by one, by their manifests.
        #[arg(long, value_name = "MANIFEST", num_args = 1.., conflicts_with_all = ["books", "root"])]
        merge: Vec<PathBuf>,
        /// Print only diagnostics, no summary line.
        #[arg(short, long)]
        quiet: bool,
        /// Print every warning; by default only the first few of each kind are shown, with a count of the rest.
        #[arg(long)]
        all_warnings: bool,
    },
    /// Make a new book in DIR that builds at once: book.toml, sources.toml, src/SUMMARY.md, a chapter.
    New {
        /// The folder for the book (made if missing); the title comes from its name.
        dir: PathBuf,
    },
    /// Print a completion script for a shell (e.g. `folio completions bash > /etc/bash_completion.d/folio`).
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print folio's manual page in roff (e.g. `folio man > folio.1`).
    Man,
}

/// Exit codes of the contract.
const BOOK_ERRORS: u8 = 1;
const CANNOT_RUN: u8 = 2;

/// Makes glibc's allocator give every block of 256 KiB or more back to the system when it is freed.
/// By default that size rises, up to 32 MiB, each time such a block is freed, and blocks under it are
/// kept for reuse: a build's image buffers, freed one after another, then stayed in the process, and a
/// book with large images peaked at nearly twice the memory it used at any one time (see
/// `bench/README.md`, "Peak memory").
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn give_large_blocks_back() {
    // SAFETY: mallopt only changes the allocator's settings, and runs before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
    }
}

/// Other allocators give large blocks back of their own accord.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_large_blocks_back() {}

fn main() -> ExitCode {
    give_large_blocks_back();
    let cli = Cli::parse();
    match cli.command {
        Command::Build { book, output, no_cache, quiet, strict, all_warnings } => {
            let cache =
                if no_cache { Cache::Off } else { output.cache_dir.clone().map_or(Cache::BesideOutput, Cache::In) };
            match run_build(&BuildArgs { strict, all_warnings, ..BuildArgs::new(book, output, cache, quiet) }) {
                Ok(built) => {
                    // The process ends here: the system takes the book's memory back at once, where
                    // dropping it would free thousands of allocations one by one first.
                    std::mem::forget(built);
                    ExitCode::SUCCESS
                }
                Err(code) => ExitCode::from(code),
            }
        }
        Command::Watch { book, output, all_warnings } => {
            let cache = output.cache_dir.clone().map_or(Cache::BesideOutput, Cache::In);
            watch::run(BuildArgs { all_warnings, ..BuildArgs::new(book, output, cache, false) })
        }
        Command::Serve { book, port, host, open, all_warnings } => {
            let output = OutputArgs { output: None, cache_dir: None };
            let args = BuildArgs { all_warnings, ..BuildArgs::new(book, output, Cache::BesideOutput, false) };
            serve::run(args, &serve::ServeOptions { host, port, open })
        }
        Command::Check { book, strict, epubcheck, all_warnings } => run_check(book, strict, epubcheck, all_warnings),
        Command::Mdbook { strict, all_warnings } => run_mdbook(strict, all_warnings),
        Command::Publish { books, output, root, merge, quiet, all_warnings } => {
            let code = if merge.is_empty() {
                run_publish(books, &output, root, quiet, all_warnings)
            } else {
                run_merge(&merge, &output, quiet)
            };
            code.map_or_else(ExitCode::from, |()| ExitCode::SUCCESS)
        }
        Command::New { dir } => run_new(&dir),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "folio", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man => match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => ExitCode::from(fail(format!("failed to write the manual page ({e})"))),
        },
    }
}

/// Writes a new book and says what to do next.
fn run_new(dir: &Path) -> ExitCode {
    match folio::new_book::create(dir) {
        Ok(files) => {
            let names: Vec<String> =
                files.iter().map(|f| f.strip_prefix(dir).unwrap_or(f).display().to_string()).collect();
            let shown = escape_controls(&dir.display().to_string()).into_owned();
            eprintln!("created {shown}: {}", names.join(", "));
            eprintln!("build it with `folio build {shown}`");
            ExitCode::SUCCESS
        }
        Err(e) => ExitCode::from(fail(e)),
    }
}

/// The book folder: as given, else `./book` when it holds book.toml, else `.` when it does.
fn book_dir(given: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(dir) = given {
        return Ok(dir);
    }
    if Path::new("book/book.toml").is_file() {
        Ok(PathBuf::from("book"))
    } else if Path::new("book.toml").is_file() {
        Ok(PathBuf::from("."))
    } else {
        Err("no book folder given, and neither ./book/book.toml nor ./book.toml exists".into())
    }
}

/// What `build` and `watch` were asked to do.
struct BuildArgs {
    book: Option<PathBuf>,
    output: Option<PathBuf>,
    target: Target,
    root: Option<PathBuf>,
    cache: Cache,
    quiet: bool,
    /// Warnings count as errors.
    strict: bool,
    /// Print every warning instead of a few of each kind.
    all_warnings: bool,
    /// As mdBook's renderer: the book mdBook handed over, and the folder the EPUB goes into.
    mdbook: Option<(std::sync::Arc<folio::mdbook::Given>, PathBuf)>,
}

impl BuildArgs {
    fn new(book: BookArgs, output: OutputArgs, cache: Cache, quiet: bool) -> Self {
        Self {
            book: book.book,
            output: output.output,
            target: book.target,
            root: book.root,
            cache,
            quiet,
            strict: false,
            all_warnings: false,
            mdbook: None,
        }
    }
}

/// Where the build cache goes.
#[derive(Clone)]
enum Cache {
    /// `.folio-cache/` in the output's folder (the default).
    BesideOutput,
    /// `--cache-dir DIR`.
    In(PathBuf),
    /// `--no-cache`.
    Off,
}

fn settings(root: Option<PathBuf>, cache_dir: Option<PathBuf>, target: Target) -> Settings {
    let source_date_epoch = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.trim().parse().ok());
    Settings { root, source_date_epoch, cache_dir, cache_read_only: false, progress: None, target, mdbook: None }
}

/// A progress bar on stderr for builds that take a while; never in pipes, CI or `--quiet`.
fn progress_bar(quiet: bool) -> Option<(indicatif::ProgressBar, folio::Progress)> {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
        return None;
    }
    let bar = indicatif::ProgressBar::hidden();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} chapters")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let shown = bar.clone();
    let progress = folio::Progress(std::sync::Arc::new(move |done, total| {
        // Fast builds finish before a bar would help; show it only once a build has run a while.
        if shown.is_hidden() && started.elapsed() > std::time::Duration::from_millis(300) {
            shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        shown.set_length(total as u64);
        shown.set_position(done as u64);
    }));
    Some((bar, progress))
}

/// The default output: `dist/<slug>.epub`, or the target's own extension (`.kepub.epub`, `.kindle.epub`).
fn default_output(slug: &str, target: Target) -> PathBuf {
    PathBuf::from("dist").join(format!("{slug}.{}", target.extension()))
}

/// How many warnings of one kind are printed before the rest are only counted.
const SHOWN_PER_KIND: usize = 3;

/// Prints diagnostics to stderr, paths relative to the current folder. Unless `all` is set, only the
/// first few warnings of each kind are printed, followed by a count of the rest.
fn report(diagnostics: &[Diagnostic], all: bool) {
    let cwd = std::env::current_dir().ok();
    let mut totals: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    if !all {
        for d in diagnostics.iter().filter(|d| !d.is_error()) {
            *totals.entry(d.kind()).or_default() += 1;
        }
    }
    let mut shown: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut elided = false;
    // anstream keeps the colours on a terminal and strips them in pipes, files and under NO_COLOR.
    // Buffered: unbuffered stderr took a system call for every piece of every line.
    let mut err = std::io::BufWriter::new(anstream::stderr().lock());
    for d in diagnostics {
        let mut more = None;
        if !all && !d.is_error() {
            let kind = d.kind();
            let count = shown.entry(kind.clone()).or_default();
            *count += 1;
            if *count > SHOWN_PER_KIND {
                elided = true;
                continue;
            }
            let total = totals[&kind];
            if *count == SHOWN_PER_KIND && total > SHOWN_PER_KIND {
                more = Some(total - SHOWN_PER_KIND);
            }
        }
        let mut d = d.clone();
        d.path = shown_path(&d.path, cwd.as_deref());
        let _ = writeln!(err, "{}", d.styled(Palette::COLOURED));
        if let Some(more) = more {
            let _ = writeln!(err, "… and {more} more like this");
        }
    }
    if elided {
        let _ = writeln!(err, "hint: `--all-warnings` shows every warning");
    }
    let _ = err.flush();
}

/// A diagnostic's path as it is printed: relative to the current folder when under it.
fn shown_path(path: &Path, cwd: Option<&Path>) -> PathBuf {
    let path = cwd.and_then(|cwd| path.strip_prefix(cwd).ok()).unwrap_or(path);
    // `folio build` in the book folder reads `./src/x.md`; it is shown as `src/x.md`, as cargo would.
    path.components().filter(|c| *c != std::path::Component::CurDir).collect()
}

/// With `--strict`, every warning becomes an error and the book is not written.
fn make_strict(build: &mut Build) {
    for d in &mut build.diagnostics {
        d.severity = folio::diagnostic::Severity::Error;
    }
    if build.has_errors() {
        build.epub = None;
    }
}

/// "2 warnings" for the summary line, or nothing without any.
fn warning_count(diagnostics: &[Diagnostic]) -> String {
    match diagnostics.iter().filter(|d| !d.is_error()).count() {
        0 => String::new(),
        n => format!(", {}", counted(n, "warning")),
    }
}

/// `error` as cargo shows it: red and bold on a terminal.
fn error_label() -> String {
    let style = Palette::COLOURED.severity(Severity::Error);
    format!("{style}error{style:#}")
}

/// Prints an error that keeps folio from running and gives its exit code.
fn fail(message: impl std::fmt::Display) -> u8 {
    anstream::eprintln!("{}: {}", error_label(), escape_controls(&message.to_string()));
    CANNOT_RUN
}

fn compile(book: Option<PathBuf>, settings: Settings) -> Result<(PathBuf, Build), u8> {
    let dir = book_dir(book).map_err(fail)?;
    let build = folio::build(&dir, &settings).map_err(fail)?;
    Ok((dir, build))
}

/// Where the output goes: `-o`, else `dist/<slug>.<extension>`.
fn output_path(args: &BuildArgs, slug: &str) -> PathBuf {
    match (&args.output, &args.mdbook) {
        (Some(output), _) => output.clone(),
        (None, Some((_, destination))) => destination.join(format!("{slug}.{}", args.target.extension())),
        (None, None) => default_output(slug, args.target),
    }
}

/// The most bytes of render context folio reads from mdBook: the book's text, escaped as JSON.
const MAX_RENDER_CONTEXT_BYTES: u64 = 4 * folio::include::MAX_BOOK_TEXT_BYTES;

/// `folio mdbook`: builds the book mdBook hands over on standard input into its output folder.
fn run_mdbook(strict: bool, all_warnings: bool) -> ExitCode {
    use std::io::Read as _;
    let mut json = String::new();
    if let Err(e) = std::io::stdin().take(MAX_RENDER_CONTEXT_BYTES).read_to_string(&mut json) {
        return ExitCode::from(fail(format!("cannot read mdBook's render context ({})", folio::files::describe(&e))));
    }
    let context = match folio::mdbook::read(&json) {
        Ok(context) => context,
        Err(e) => {
            let message =
                format!("standard input is not mdBook's render context ({e}); `folio mdbook` is run by `mdbook build`");
            return ExitCode::from(fail(message));
        }
    };
    drop(json);
    let args = BuildArgs {
        book: Some(context.root),
        output: None,
        target: Target::Epub,
        root: None,
        cache: Cache::BesideOutput,
        quiet: false,
        strict,
        all_warnings,
        mdbook: Some((std::sync::Arc::new(context.given), context.destination)),
    };
    match run_build(&args) {
        Ok(built) => {
            std::mem::forget(built);
            ExitCode::SUCCESS
        }
        Err(code) => ExitCode::from(code),
    }
}

/// The cache folder for these arguments.
fn cache_dir(args: &BuildArgs) -> Option<PathBuf> {
    match &args.cache {
        Cache::Off => None,
        Cache::In(dir) => Some(dir.clone()),
        // The default output's folder does not depend on the title, so it is known before building.
        Cache::BesideOutput => Some(cache_beside(&output_path(args, "book"))),
    }
}

/// The cache folder beside an output file.
fn cache_beside(output: &Path) -> PathBuf {
    let folder = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    folder.join(".folio-cache")
}

/// Builds once and prints the diagnostics; the book folder and the build, which holds no package when
/// the book has errors, or the exit code when folio could not run.
fn build_reported(args: &BuildArgs) -> Result<(PathBuf, Build), u8> {
    let mut settings = settings(args.root.clone(), cache_dir(args), args.target);
    settings.mdbook = args.mdbook.as_ref().map(|(given, _)| std::sync::Arc::clone(given));
    let bar = progress_bar(args.quiet).map(|(bar, progress)| {
        settings.progress = Some(progress);
        bar
    });
    let compiled = compile(args.book.clone(), settings);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let (dir, mut build) = compiled?;
    if args.strict {
        make_strict(&mut build);
    }
    report(&build.diagnostics, args.all_warnings);
    Ok((dir, build))
}

/// Builds once; the written EPUB's path and the build, or the exit code.
fn run_build(args: &BuildArgs) -> Result<(PathBuf, Build), u8> {
    let started = Instant::now();
    let (dir, build) = build_reported(args)?;
    let Some(epub) = build.epub.as_ref() else {
        let errors = build.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = warning_count(&build.diagnostics);
        anstream::eprintln!("{}: could not build the book: {}{warnings}", error_label(), counted(errors, "error"));
        return Err(BOOK_ERRORS);
    };
    let output = output_path(args, &build.slug);
    refuse_source_output(&dir, &output).map_err(fail)?;
    let epub_bytes = folio::write::atomically(&output, |w| folio::package::write_zip(epub, w))
        .map_err(|e| fail(format!("failed to write '{}' ({})", output.display(), folio::files::describe(&e))))?;
    if !args.quiet {
        let cached = match build.stats.cached {
            0 => String::new(),
            n => format!(", {n} from cache"),
        };
        let stats = &build.stats;
        let images = match stats.images {
            folio::ImageStats { count: 0, .. } => String::new(),
            images => format!(", images {} → {}", size(images.bytes_before), size(images.bytes_after)),
        };
        let fonts = match stats.fonts {
            folio::FontStats { bytes_before: 0, .. } => String::new(),
            fonts => format!(", fonts {} → {}", size(fonts.bytes_before), size(fonts.bytes_after)),
        };
        // Formatted first: stderr is unbuffered, and written in pieces the line took a dozen system calls.
        let line = format!(
            "built {} ({}{cached}, {}{images}{fonts}, {} KiB{}) in {} ms",
            escape_controls(&output.display().to_string()),
            counted(stats.chapters, "chapter"),
            counted(stats.notes, "note"),
            epub_bytes.div_ceil(1024),
            warning_count(&build.diagnostics),
            started.elapsed().as_millis()
        );
        eprintln!("{line}");
    }
    Ok((output, build))
}

/// "1 chapter", "2 chapters".
fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// A size in KiB, or in MiB with one decimal from 1 MiB on.
fn size(bytes: u64) -> String {
    if bytes < 1 << 20 {
        format!("{} KiB", bytes.div_ceil(1024))
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    }
}

/// Refuses to overwrite one of the book's own files (a Markdown chapter, book.toml, …).
fn refuse_source_output(book: &Path, output: &Path) -> Result<(), String> {
    let (Ok(book), Ok(out)) = (book.canonicalize(), output.canonicalize()) else { return Ok(()) };
    let is_epub = out.extension().is_some_and(|e| e.eq_ignore_ascii_case("epub"));
    if out.starts_with(&book) && !is_epub {
        return Err(format!("refusing to overwrite '{}', a file of the book folder", output.display()));
    }
    Ok(())
}

fn run_check(BookArgs { book, target, root }: BookArgs, strict: bool, epubcheck: bool, all_warnings: bool) -> ExitCode {
    // The cache a plain `folio build` keeps, read but never written: a book built before is checked
    // without rendering it again.
    let mut settings = settings(root, Some(cache_beside(&default_output("book", target))), target);
    settings.cache_read_only = true;
    let (_, mut build) = match compile(book, settings) {
        Ok(b) => b,
        Err(code) => return ExitCode::from(code),
    };
    if strict {
        make_strict(&mut build);
    }
    report(&build.diagnostics, all_warnings);
    let warnings = build.diagnostics.iter().filter(|d| !d.is_error()).count();
    let errors = build.diagnostics.len() - warnings;
    let problems = match (errors, warnings) {
        (0, 0) => "no problems".to_string(),
        (0, w) => counted(w, "warning"),
        (e, 0) => counted(e, "error"),
        (e, w) => format!("{} and {}", counted(e, "error"), counted(w, "warning")),
    };
    eprintln!("{problems} in {}", counted(build.stats.chapters, "chapter"));
    if build.has_errors() {
        return ExitCode::from(BOOK_ERRORS);
    }
    match (epubcheck, &build.epub) {
        (true, Some(epub)) => match run_epubcheck(epub, &build) {
            Ok(0) => ExitCode::SUCCESS,
            Ok(_) => ExitCode::from(BOOK_ERRORS),
            Err(code) => ExitCode::from(code),
        },
        _ => ExitCode::SUCCESS,
    }
}

/// Writes the package to a temporary file, runs EPUBCheck on it and reports; returns how many problems it found.
fn run_epubcheck(epub: &folio::document::Epub, build: &Build) -> Result<usize, u8> {
    // Created exclusively at an unpredictable name in the temporary folder, and removed when dropped.
    let written = tempfile::Builder::new().prefix("folio-check-").suffix(".epub").tempfile().and_then(|mut file| {
        let mut out = std::io::BufWriter::new(file.as_file_mut());
        folio::package::write_zip(epub, &mut out)?;
        out.flush()?;
        drop(out);
        Ok(file)
    });
    let file = written
        .map_err(|e| fail(format!("failed to write the package for EPUBCheck ({})", folio::files::describe(&e))))?;
    let found = folio::epubcheck::check(file.path(), &build.origins, &build.config_path);
    drop(file);
    let diagnostics = found.map_err(fail)?;
    report(&diagnostics, true);
    if diagnostics.is_empty() {
        eprintln!("EPUBCheck: no errors or warnings");
    }
    Ok(diagnostics.len())
}

/// `folio publish`: builds every book's targets, then writes the site, or nothing when a book has errors.
fn run_publish(
    books: Vec<PathBuf>,
    site: &Path,
    root: Option<PathBuf>,
    quiet: bool,
    all_warnings: bool,
) -> Result<(), u8> {
    let started = Instant::now();
    let dirs = if books.is_empty() { vec![book_dir(None).map_err(fail)?] } else { books };
    // Each book is built three times; a cache would mostly hold what one publish uses once.
    let settings = settings(root, None, Target::Epub);
    let outcomes = folio::publish::books(&dirs, &settings).map_err(fail)?;
    let mut diagnostics: Vec<Diagnostic> = outcomes.iter().flat_map(|o| o.diagnostics.iter().cloned()).collect();
    folio::diagnostic::sort(&mut diagnostics);
    report(&diagnostics, all_warnings);
    let published: Option<Vec<folio::publish::PublishedBook>> = outcomes.into_iter().map(|o| o.book).collect();
    let Some(published) = published else {
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        anstream::eprintln!(
            "{}: could not publish: {}; the site is unchanged",
            error_label(),
            counted(errors, "error")
        );
        return Err(BOOK_ERRORS);
    };
    let manifests: Vec<folio::publish::Manifest> = published.iter().map(|b| b.manifest.clone()).collect();
    let shelf = folio::publish::shelf(&manifests);
    folio::publish::site::write(site, &published, &shelf).map_err(|e| site_error(site, &e))?;
    if !quiet {
        let bytes: u64 = published.iter().flat_map(|b| &b.files).map(|(_, f)| f.len() as u64).sum();
        eprintln!(
            "published {} to {} ({}) in {} ms",
            counted(published.len(), "book"),
            escape_controls(&site.display().to_string()),
            size(bytes),
            started.elapsed().as_millis()
        );
    }
    Ok(())
}

/// `folio publish --merge`: the site from book folders published one by one.
fn run_merge(manifests: &[PathBuf], site: &Path, quiet: bool) -> Result<(), u8> {
    let (books, diagnostics) = folio::publish::site::read_manifests(manifests);
    // Every finding of a merge is an error, each shown.
    report(&diagnostics, true);
    if !diagnostics.is_empty() {
        anstream::eprintln!(
            "{}: could not merge: {}; the site is unchanged",
            error_label(),
            counted(diagnostics.len(), "error")
        );
        return Err(BOOK_ERRORS);
    }
    let listed: Vec<folio::publish::Manifest> = books.iter().map(|b| b.manifest.clone()).collect();
    let shelf = folio::publish::shelf(&listed);
    folio::publish::site::merge(site, &books, &shelf).map_err(|e| site_error(site, &e))?;
    if !quiet {
        eprintln!("merged {} into {}", counted(books.len(), "book"), escape_controls(&site.display().to_string()));
    }
    Ok(())
}

fn site_error(site: &Path, e: &std::io::Error) -> u8 {
    fail(format!("failed to write the site '{}' ({})", site.display(), folio::files::describe(e)))
}
