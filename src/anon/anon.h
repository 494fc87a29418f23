/* anon.h — de-identification: the DicomEdit 6 script engine, the built-in
 * PS3.15 Annex E profiles, and the checks that prove what a script leaves.
 *
 * A script or profile is compiled once into an immutable object that many
 * threads may share. An anon_engine is the ordered list of steps (scripts
 * and profiles, applied in the order added) plus site settings (UID secret,
 * lookup table). Each thread makes its own anon_session from the engine: the
 * session holds the script variables, which persist from one instance to the
 * next as in XNAT, and applies the steps to one dataset at a time.
 */
#ifndef DQR_ANON_H
#define DQR_ANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dicom/dicom.h"
#include "anon/pixel_rules.h" /* pixel-cleaning rules by signature (CTP format) */
#include "pixel/pixel.h"

typedef struct anon_script anon_script;
typedef struct anon_profile anon_profile;
typedef struct anon_engine anon_engine;
typedef struct anon_session anon_session;

/* ---- scripts ----------------------------------------------------------- */

/* Deepest nesting a script may use: blocks, ternaries, lists and function
 * calls count together, and a tag path has at most this many levels. Every
 * walk over a script is recursive, so the parser refuses deeper input
 * ("name:line:col: nesting deeper than 64 levels") rather than let a hostile
 * script exhaust the stack; values built at run time are bounded the same. */
#define ANON_MAX_DEPTH 64

/* Compile DicomEdit source text: DicomEdit 6 with its version statement,
 * DicomEdit 4 without one (de4.c). name labels messages ("site.das:3:14: ...").
 * A syntax error or an unknown version refuses the whole script. Returns
 * NULL with err filled. */
anon_script *anon_script_compile(const char *text, size_t len, const char *name, dqr_error *err);

/* Read and compile a script file. */
anon_script *anon_script_load(const char *path, dqr_error *err);

void anon_script_free(anon_script *s);

/* The script's name as given at compile time, and its version ("6.3"). */
const char *anon_script_name(const anon_script *s);
const char *anon_script_version(const anon_script *s);

/* ---- profiles (PS3.15 Annex E) ------------------------------------------ */

/* "basic" or "basic,OPTION,..." with options retain-safe-private,
 * retain-uids, retain-device-id, retain-institution-id,
 * retain-patient-chars, retain-long-full-dates, retain-long-modified-dates,
 * clean-descriptors, clean-structured-content, clean-graphics. */
anon_profile *anon_profile_parse(const char *spec, dqr_error *err);
void anon_profile_free(anon_profile *p);
/* Extra safe private attributes for the retain-safe-private option, from a
 * site file at path (lines "(gggg,xxEE) PRIVATE CREATOR"; see
 * docs/deidentification.md), added to PS3.15 Table E.3.10-1. Replaces a
 * file given before. DQR_E_IO / DQR_E_PARSE (file:line) with err filled. */
dqr_status anon_profile_add_safe_private(anon_profile *p, const char *path, dqr_error *err);

/* Called for each private data element of a dataset (any depth): its tag
 * path, its creator, whether Basic with retain-safe-private keeps it, and
 * why (the table row or site file line, or why not). */
typedef void (*anon_private_fn)(void *ctx, const char *path, const char *creator, bool kept, const char *why);
/* Report what p's retain-safe-private keeps of ds's private data elements
 * (items of a removed sequence are not visited; p may be NULL: the table
 * alone). Returns the number reported. */
size_t anon_private_report(const anon_profile *p, const dcm_dataset *ds, anon_private_fn fn, void *ctx);

/* ---- engine and sessions ----------------------------------------------- */

typedef struct anon_settings {
    uint8_t uid_secret[32];   /* keys UID replacement (U) and mapUID: same secret, same UIDs */
    const char *lookup_path;  /* lookup[] table file, or NULL */
} anon_settings;

/* Load the UID secret at path into key (SHA-256 of the file, which must
 * hold at least 16 bytes); with create_missing, a missing file is made
 * first (32 random bytes, mode 0600) and *created (may be NULL) says so. */
dqr_status anon_secret_load(const char *path, bool create_missing, uint8_t key[32], bool *created, dqr_error *err);

anon_engine *anon_engine_new(const anon_settings *settings, dqr_error *err);
void anon_engine_free(anon_engine *e);
/* Append a step. The engine borrows s / p: keep them alive while it is used. */
dqr_status anon_engine_add_script(anon_engine *e, const anon_script *s, dqr_error *err);
dqr_status anon_engine_add_profile(anon_engine *e, const anon_profile *p, dqr_error *err);

/* Where `echo` output goes (the library never prints): called with each line. */
typedef void (*anon_echo_fn)(void *ctx, const char *line);

anon_session *anon_session_new(const anon_engine *e, dqr_error *err);
void anon_session_free(anon_session *s);
/* Set an external variable (project, subject, session, ...). */
dqr_status anon_session_set_var(anon_session *s, const char *name, const char *value,
                                dqr_error *err);
void anon_session_on_echo(anon_session *s, anon_echo_fn fn, void *ctx);

typedef enum anon_result {
    ANON_OK = 0,
    ANON_REJECTED = 1, /* a script's reject[] said so: drop the instance */
    ANON_FAILED = 2    /* a runtime error (err says which script, line, why) */
} anon_result;

/* Apply every step to ds in order. On ANON_FAILED, ds is partly modified and
 * must not be written. */
anon_result anon_session_apply(anon_session *s, dcm_dataset *ds, dqr_error *err);

/* ---- pixels ------------------------------------------------------------ */

/* The regions the scripts' alterPixels statements asked for during the last
 * anon_session_apply (the dataset itself is not touched: the pixels are
 * filled when the file is written, see anon_clean_pixels). Borrowed, valid
 * until the next apply; NULL when there were none. */
const px_edit *anon_session_pixel_edits(const anon_session *s);

/* The record of pixels cleaned, or checked and found clean: Burned In
 * Annotation (0028,0301) NO, and the code 113101 "Clean Pixel Data" (DCM)
 * in Deidentification Method Code Sequence (0012,0064), added once. Only
 * for a dataset whose pixels were cleaned or checked: never otherwise. */
dqr_status anon_mark_pixels_clean(dcm_dataset *ds, dqr_error *err);

/* Before the scripts: the regions of the first signature of each of the
 * nrules rule sets (entries may be NULL: the site's and the project's) that
 * matches ds as received (CTP's DicomPixelAnonymizer sits before its
 * anonymizer: a script that removes Manufacturer must not disable a rule
 * keyed on it), clipped to ds's Rows x Columns, filled with 0 (0,0,0 on
 * colour images) in every frame. *matched gets a new px_edit (free it with
 * px_edit_free), NULL when no rule set matched with a region. */
dqr_status anon_pixel_rules_regions(const anon_pixel_rules *const *rules, size_t nrules, const dcm_dataset *ds,
                                    px_edit **matched, dqr_error *err);

/* Clean f's pixels as the pipeline does after the scripts: the regions of
 * s's alterPixels (s may be NULL) and the rules' regions matched before the
 * scripts ran (anon_pixel_rules_regions; may be NULL) are attached to f
 * (px_edit_attach: filled while f is written) and the dataset marked clean
 * (anon_mark_pixels_clean). With no Pixel Data, or no region inside the
 * image, nothing changes. *regions (may be NULL) gets how many regions were
 * attached. On failure f must not be written. */
dqr_status anon_clean_pixels(dcm_file *f, const anon_session *s, const px_edit *matched, size_t *regions,
                             dqr_error *err);

/* ---- checks ------------------------------------------------------------ */

/* Called for each finding: the tag path ("(0008,1140)[0]/(0010,0010)"), the
 * attribute's keyword, why it counts, and its value as text (may be NULL). */
typedef void (*anon_phi_fn)(void *ctx, const char *path, const char *keyword, const char *why,
                            const char *value);

/* Report every Annex E attribute in ds (at any depth) that still holds what
 * the Basic profile would remove or replace, and every private data element.
 * Tags in ignore[] are skipped. Returns the number of findings. */
size_t anon_phi_scan(const dcm_dataset *ds, const uint32_t *ignore, size_t nignore, anon_phi_fn fn,
                     void *ctx);

struct anon_annex_e_row;
/* Called for each Annex E row no script statement touches. */
typedef void (*anon_lint_fn)(void *ctx, const struct anon_annex_e_row *row);

/* Statically find the Annex E attributes that scripts[0..n) leave untouched
 * (at the top level of a dataset); returns how many. */
size_t anon_lint_untouched(const anon_script *const *scripts, size_t n, anon_lint_fn fn, void *ctx);

/* A run-time finding of anon_lint_run. Strings are borrowed for the call. */
typedef struct anon_lint_issue {
    size_t step;         /* the failing step's place in the engine, from 0 */
    const char *script;  /* its name: a script's name, or "profile NAME" */
    int line, column;    /* where its failing statement starts; 0 when not known */
    const char *what;    /* the error without its place: "shiftDateByIncrement: ..." */
    const char *sample;  /* the sample's label: "built-in" or a file name */
    bool rejected;       /* reject[] dropped the sample: a note, not an error */
    const char *text;    /* one line: "site.das:12:5: run-time: WHAT (on sample built-in)" */
} anon_lint_issue;
typedef void (*anon_lint_issue_fn)(void *ctx, const anon_lint_issue *issue);

/* Run the steps of s's engine over a copy of sample as anon_session_apply
 * does, but go on after a step that fails or rejects (from the instance as
 * that step received it), so that every script's first run-time error on
 * this sample is found; fn gets each one, label names the sample in them.
 * sample is left as it is. Returns the number of failures (rejects not
 * counted). One session is not for two threads at once. */
size_t anon_lint_run(anon_session *s, const dcm_dataset *sample, const char *label, anon_lint_issue_fn fn,
                     void *ctx);

/* The built-in sample instance (a synthetic MR image without PHI holding
 * the attributes scripts usually touch) that the dry run and lint use.
 * Returns a new dataset (caller frees with dcm_dataset_free), NULL when out
 * of memory. */
dcm_dataset *anon_sample_dataset(void);

/* ---- hashing ----------------------------------------------------------- */

/* DicomEdit's hashUID: "2.25." + the decimal of a SHA-1 based UUID of value.
 * Writes into out (at least 64 bytes). */
void anon_hash_uid(const char *value, char out[64]);

#endif
