/* main.c — `dqr COMMAND ...`: find the subcommand and run it. */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const dqr_command COMMANDS[] = {
    {"dump", "print a dataset (dcmdump-like text, or DICOM JSON)",
     "usage: dqr dump FILE... [--json] [--no-meta] [--max-chars N]\n"
     "\n"
     "Print each DICOM file (Part 10, or a bare dataset). With several files,\n"
     "text output starts each with \"# File: PATH\"; JSON is one object per line.\n"
     "  --json         the DICOM JSON model (PS3.18 Annex F) of the dataset;\n"
     "                 pixel data and values of 1 MiB or more appear as a\n"
     "                 BulkDataURI placeholder \"bulkdata/<tag path>\"\n"
     "  --no-meta      text: leave out the File Meta Information\n"
     "  --max-chars N  text: cut values longer than N characters (default 64)\n"
     "Exit: 0 printed, 1 a file could not be read or parsed (the others are\n"
     "still printed), 2 usage.\n",
     cmd_dump},
    {"convert", "rewrite a file, optionally in another transfer syntax",
     "usage: dqr convert IN OUT [--ts SYNTAX] [--no-sync]\n"
     "\n"
     "Read IN and write it to OUT atomically. SYNTAX is implicit, explicit,\n"
     "big, deflate, rle, jpeg-ls (lossless), j2k-lossless, jpeg-lossless\n"
     "(process 14 SV1), or a transfer syntax UID; default: the one IN uses, in\n"
     "which case OUT is byte-identical to IN's dataset. Compressed pixel data\n"
     "is decoded for a native target and encoded for a lossless one, frame by\n"
     "frame; a lossy target (JPEG baseline, JPEG-LS near-lossless, JPEG 2000\n"
     "lossy) is refused. Lossy Image Compression is kept as it was. Large\n"
     "values are streamed, so memory stays flat whatever the file size.\n"
     "--no-sync skips the fsync before the rename (still atomic, not durable).\n"
     "Exit: 0 written, 1 failed, 2 usage.\n",
     cmd_convert},
    {"anonymize", "de-identify a file or a tree with DicomEdit scripts and Annex E profiles",
     "usage: dqr anonymize [--script FILE]... [--profile basic[,OPTION...]] [--var NAME=VALUE]...\n"
     "                     [--jobs N] [--uid-secret FILE] [--lookup FILE] [--safe-private FILE]\n"
     "                     [--pixel-rules FILE] [--ocr off|at_risk|always] [--ocr-policy P]\n"
     "                     [--ocr-whitelist W,...] [--no-sync] [--quiet] IN OUT\n"
     "\n"
     "IN and OUT are files, or folders done recursively (OUT mirrors IN's tree).\n"
     "Scripts and profiles apply in the order given. Output is written atomically,\n"
     "only for instances that every step accepted; non-DICOM files are skipped.\n"
     "  --script FILE     a DicomEdit 6 script (version \"6.0\" to \"6.7\"), or a\n"
     "                    DicomEdit 4 script (no version line)\n"
     "  --profile SPEC    PS3.15 Annex E: basic, then options separated by commas:\n"
     "                    retain-safe-private retain-uids retain-device-id\n"
     "                    retain-institution-id retain-patient-chars\n"
     "                    retain-long-full-dates retain-long-modified-dates\n"
     "                    clean-descriptors clean-structured-content clean-graphics\n"
     "  --var NAME=VALUE  a script variable (project, subject, session, ...)\n"
     "  --jobs N          worker threads for a folder (default: number of cores)\n"
     "  --uid-secret FILE the key for replaced UIDs and shifted dates (default:\n"
     "                    $DQR_UID_SECRET_FILE or ~/.config/dqr/uid-secret, made once)\n"
     "  --lookup FILE     the table for lookup[] (lines: keyType/key = value)\n"
     "  --safe-private FILE  extra safe private attributes for retain-safe-private,\n"
     "                    one \"(gggg,xxEE) PRIVATE CREATOR\" a line, added to PS3.15\n"
     "                    Table E.3.10-1\n"
     "  --pixel-rules FILE  pixel-cleaning rules in CTP's DicomPixelAnonymizer format:\n"
     "                    the regions of the first signature an instance matches (after\n"
     "                    the scripts) are blanked with 0, as alterPixels regions are,\n"
     "                    and BurnedInAnnotation becomes NO (docs/pixel.md)\n"
     "  --ocr MODE        read burned-in text after the cleaning (default off):\n"
     "                    at_risk (US SC OT XA ES DX CR MG, no Modality, or\n"
     "                    BurnedInAnnotation YES) or always; first, middle, last frame\n"
     "  --ocr-policy P    words found: refuse (not written, exit 3 for a single IN;\n"
     "                    default), warn (written, BurnedInAnnotation YES) or mask\n"
     "                    (black boxes over the words on every frame, marked clean)\n"
     "  --ocr-whitelist W,...  more words that are not PHI\n"
     "  --no-sync         leave the output in the page cache: do not flush it to\n"
     "                    disk before returning (files are still written atomically)\n"
     "  --quiet           no progress line, no summary\n"
     "Exit: 0 done; 1 a file failed; 2 usage or script error; 3 the single IN\n"
     "file was rejected by a script.\n",
     cmd_anonymize},
    {"lint", "check scripts: parse, run on samples, list the Annex E attributes left",
     "usage: dqr lint [--sample FILE]... [--var NAME=VALUE]... [--lookup FILE] [--safe-private FILE]\n"
     "                [--pixel-rules FILE]... [SCRIPT...]\n"
     "\n"
     "Parse each DicomEdit 6 or 4 script (errors name file:line:column), then run the\n"
     "scripts in order, as an import does, over the built-in sample instance and\n"
     "each --sample FILE, with the variables project, subject and session set\n"
     "(--var sets these or others). Each run-time error is reported as\n"
     "  site.das:12:16: run-time: WHAT (on sample built-in)\n"
     "and 'ok' means the script parses and runs. Then list the PS3.15 Annex E\n"
     "Basic attributes that the scripts together never assign, delete or edit at\n"
     "the top level of a dataset: the PHI a site would keep. Last, for each\n"
     "--sample file, list its private attributes and whether\n"
     "basic,retain-safe-private keeps them (PS3.15 Table E.3.10-1, or the line of\n"
     "the --safe-private site file) or removes them.\n"
     "--pixel-rules FILE: a pixel-cleaning rules file (CTP DicomPixelAnonymizer\n"
     "format): parse it (errors name file:line:column) and, for each --sample\n"
     "file, print the first signature that matches and its regions.\n"
     "Exit: 0 scripts parse and run (whatever is listed), 1 a script or sample\n"
     "cannot be read, 2 a script or rules file does not parse or fails at run time.\n",
     cmd_lint},
    {"phi-scan", "report identifying values and canary strings left in files",
     "usage: dqr phi-scan [--canaries FILE] [--ignore TAG]... [--pixels [--frames N|all]\n"
     "                    [--whitelist W,...] [--min-confidence C]] [--json] PATH...\n"
     "\n"
     "For every file under each PATH (folders recursively):\n"
     "- DICOM files: every Annex E attribute still holding a value that the Basic\n"
     "  profile would remove or replace (Z with a value, X present, D not holding\n"
     "  dqr's dummy, U not a 2.25 UID), and every private data element;\n"
     "- any file: every line of the canaries FILE found in its raw bytes.\n"
     "  --ignore TAG   skip an attribute (keyword or gggg,eeee), e.g. the\n"
     "                 PatientName a relabel wrote on purpose\n"
     "  --pixels       also read the words burned into each frame (OCR) and report\n"
     "                 those not whitelisted: FILE: frame N: \"WORD\" at X,Y WxH confidence C\n"
     "  --frames N     read N frames of a multi-frame (first, last, evenly between);\n"
     "                 default all\n"
     "  --whitelist W,...  more words that are not PHI (orientation markers, units,\n"
     "                 screen labels and numbers of 1-3 digits are built in)\n"
     "  --min-confidence C  ignore words read with less than C (0-100, default 0)\n"
     "  --json         one JSON array: per DICOM file its attributes and frames with\n"
     "                 words, boxes and confidences (not with --canaries)\n"
     "Exit: 0 nothing found, 1 something found (or a file failed), 2 usage.\n",
     cmd_phi_scan},
    {"echo", "C-ECHO a DICOM peer",
     "usage: dqr echo [--aet A] [--call AE] [--timeout S] HOST PORT\n"
     "\n"
     "Open an association (calling AE A, default DQR; called AE, default ANY-SCP),\n"
     "send C-ECHO, release. Exit: 0 the peer answered Success, 1 otherwise.\n"
     "Every network command also takes --tls (DICOM TLS; the peer's certificate\n"
     "is verified against --tls-ca FILE, or the system trust store, and must name\n"
     "HOST or --tls-name NAME), --tls-cert FILE and --tls-key FILE (present a\n"
     "certificate), --tls-insecure (accept any certificate; a warning says so).\n",
     cmd_echo},
    {"store", "send DICOM files to a peer (C-STORE)",
     "usage: dqr store [--aet A] [--call AE] [--timeout S] HOST PORT FILE|DIR...\n"
     "\n"
     "Send every DICOM file (folders recursively) over one association, each in\n"
     "its own transfer syntax when the peer accepts it (native data may also go\n"
     "as Explicit or Implicit VR LE). One status line per file, then a summary.\n"
     "Exit: 0 every file stored, 1 otherwise.\n",
     cmd_store},
    {"find", "query a peer (C-FIND): one DICOM JSON object per match per line",
     "usage: dqr find [--aet A] [--call AE] [--timeout S] [--model study|patient]\n"
     "                --level PATIENT|STUDY|SERIES|IMAGE -k KEY[=VALUE]... HOST PORT\n"
     "\n"
     "KEY is a keyword (PatientName) or gggg,eeee; without a value it asks the peer\n"
     "to return it. Matches print as they arrive, one DICOM JSON object (PS3.18\n"
     "Annex F) per line. Study Root unless --model patient.\n"
     "Exit: 0 the query completed, 1 otherwise, 2 usage.\n",
     cmd_find},
    {"move", "ask a peer to send instances to an AE (C-MOVE)",
     "usage: dqr move [--aet A] [--call AE] [--timeout S] [--model study|patient]\n"
     "                [--level STUDY|SERIES|IMAGE] --dest AE -k KEY=VALUE... HOST PORT\n"
     "\n"
     "The peer sends what the keys select (level STUDY unless given) to the AE\n"
     "title --dest, which it must know. Prints the sub-operation counts.\n"
     "Ctrl-C sends C-CANCEL; the peer stops and reports what it moved.\n"
     "Exit: 0 every sub-operation succeeded, 1 otherwise, 2 usage.\n",
     cmd_move},
    {"get", "retrieve instances over the same association (C-GET)",
     "usage: dqr get [--aet A] [--call AE] [--timeout S] [--model study|patient]\n"
     "               [--level STUDY|SERIES|IMAGE] --out DIR -k KEY=VALUE... HOST PORT\n"
     "\n"
     "The peer sends what the keys select (level STUDY unless given) back on this\n"
     "association; each instance is written atomically to DIR/<SOPInstanceUID>.dcm.\n"
     "Storage contexts are proposed (with the SCP role) for the common storage SOP\n"
     "classes first, then as many of the others as fit.\n"
     "Exit: 0 every sub-operation succeeded, 1 otherwise, 2 usage.\n",
     cmd_get},
    {"listen", "a storage SCP writing received instances to a folder",
     "usage: dqr listen --port P --aet AE --out DIR [--bind ADDR] [--allow-aet AE]...\n"
     "                  [--max-assocs N] [--timeout S] [--quiet]\n"
     "                  [--tls --tls-cert FILE --tls-key FILE [--tls-ca FILE]]\n"
     "                  [--script FILE]... [--profile SPEC] [--var NAME=VALUE]... [--uid-secret FILE]\n"
     "                  [--pixel-rules FILE] [--ocr MODE] [--ocr-policy P] [--ocr-whitelist W,...]\n"
     "\n"
     "Accept associations called AE (others are refused: called AE not recognized),\n"
     "from any calling AE, or only from the --allow-aet AEs if given (--accept-from\n"
     "is the same); answer C-ECHO; write each C-STORE\n"
     "atomically to DIR/<SOPInstanceUID>.dcm. With --script/--profile (as in\n"
     "dqr anonymize) every instance is de-identified in memory before anything is\n"
     "written; alterPixels regions and --pixel-rules FILE (CTP format, needs a\n"
     "script or profile) are blanked as the file is written; --ocr reads burned-in\n"
     "text as in dqr anonymize (a refused instance is not written, answered Success).\n"
     "Listens on 127.0.0.1 unless --bind says otherwise. Stops on\n"
     "SIGINT/SIGTERM, letting running associations finish. With --tls every\n"
     "association is DICOM TLS; --tls-ca makes client certificates required.\n",
     cmd_listen},
    {"serve", "the gateway: web UI, REST API, DICOM receivers and the import queue",
     "usage: dqr serve [--config FILE] [--check-config] [--print-config] [--list-keys]\n"
     "\n"
     "Runs the gateway until SIGTERM or SIGINT (Ctrl-C): the web UI at /, the\n"
     "REST API under /api/v1 (docs/api.md), dqr's DICOM receivers, the import\n"
     "queue and its workers, the catalog (SQLite or PostgreSQL) and the sealed\n"
     "PHI vault. Running imports stop at Ctrl-C and resume at the next start.\n"
     "Settings come from embedded defaults, then FILE (JSON), then DQR_*\n"
     "environment variables (docs/configuration.md).\n"
     "\n"
     "  --config FILE    read settings from FILE\n"
     "  --check-config   check the settings and the files and catalog they name\n"
     "                   (TLS certificates and keys, key file modes, catalog\n"
     "                   reachable and not newer), start nothing; print\n"
     "                   \"config ok\" and exit 0, or the errors and exit 2\n"
     "  --print-config   print the effective settings as JSON and exit\n"
     "  --list-keys      list every setting: key, variable, default, meaning\n"
     "\n"
     "On first start dqr creates user admin; with no admin_password set it\n"
     "prints a generated password once. Log lines go to standard error and\n"
     "the log file; they never hold DICOM values.\n",
     cmd_serve},
    {"backup", "snapshot the catalog, vault key and UID secret while serve runs",
     "usage: dqr backup [--config FILE] OUT\n"
     "\n"
     "Writes a consistent snapshot of the catalog (SQLite: its online backup;\n"
     "PostgreSQL: pg_dump), the vault key and the UID secret into the new\n"
     "folder OUT, with a manifest. dqr serve may keep running meanwhile.\n"
     "Settings as for dqr serve (--config FILE, DQR_* variables).\n"
     "\n"
     "WARNING: OUT HOLDS THE VAULT KEY, which unseals every original patient\n"
     "identifier in the catalog. It is made 0700 with 0600 files: store it\n"
     "encrypted, apart from the data, as safely as the key itself.\n"
     "The archive of de-identified files (data_dir/archive) is not in it.\n",
     cmd_backup},
    {"restore", "load a backup onto a fresh catalog and key paths",
     "usage: dqr restore [--config FILE] [--force] IN\n"
     "\n"
     "Loads the backup folder IN (made by dqr backup) into the catalog the\n"
     "settings name and writes its vault key and UID secret to the\n"
     "configured paths with mode 0600. Refuses when the catalog already\n"
     "holds tables or a key file exists, unless --force (which replaces\n"
     "them). Stop dqr serve first; its next start migrates an older catalog.\n",
     cmd_restore},
    {"fsck", "check the archive's files against the catalog, and repair",
     "usage: dqr fsck [--config FILE] [--deep] [--repair] [--json]\n"
     "\n"
     "Checks that every catalog row of the archive has its file with the\n"
     "recorded size, every file of data_dir/archive has its row, and no\n"
     "temporary file is left. Settings as for dqr serve.\n"
     "\n"
     "  --deep    also parse each file: it must hold the row's SOPInstanceUID\n"
     "  --repair  remove temporary files, move files without a row to\n"
     "            data_dir/lost+found, remove rows whose file is gone or wrong\n"
     "            and queue their import session again (stop dqr serve first)\n"
     "  --json    one JSON report on standard output\n"
     "\n"
     "Findings in a session that is running are listed, not counted. Exit 0\n"
     "when nothing is wrong (or all was repaired), 1 otherwise, 2 on a usage\n"
     "or settings error.\n",
     cmd_fsck},
    {"version", "print the version", "usage: dqr version\n", cmd_version},
    {"help", "list commands, or show one command's help", "usage: dqr help [COMMAND]\n", cmd_help},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

const dqr_command *cli_find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(COMMANDS[i].name, name) == 0)
            return &COMMANDS[i];
    return NULL;
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("dqr: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const dqr_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dqr: %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'dqr %s --help')\n", cmd->name);
    va_end(ap);
    return DQR_EXIT_USAGE;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

static void list_commands(FILE *out)
{
    fputs("usage: dqr COMMAND [ARGS]\n\n"
          "dqr is a PHI-safe DICOM query/retrieve gateway and de-identifying archive.\n\n"
          "Commands:\n", out);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fputs("\nRun 'dqr help COMMAND' or 'dqr COMMAND --help' for details.\n", out);
}

int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        list_commands(stdout);
        return DQR_EXIT_OK;
    }
    const dqr_command *c = cli_find(argv[1]);
    if (!c) {
        cli_error("help: no command '%s' (run 'dqr help' for the list)", argv[1]);
        return DQR_EXIT_USAGE;
    }
    fputs(c->usage, stdout);
    return DQR_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        list_commands(stderr);
        return DQR_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    if (strcmp(name, "--version") == 0)
        name = "version";
    const dqr_command *c = cli_find(name);
    if (!c) {
        cli_error("unknown command '%s' (run 'dqr help' for the list)", argv[1]);
        return DQR_EXIT_USAGE;
    }
    if (c->run != cmd_help && cli_wants_help(argc - 1, argv + 1)) {
        fputs(c->usage, stdout);
        return DQR_EXIT_OK;
    }
    return c->run(argc - 1, argv + 1);
}
