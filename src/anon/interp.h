/* interp.h — the DicomEdit 6 interpreter's internals, shared by interp.c
 * and the built-in functions (fn_*.c). Internal to src/anon. */
#ifndef DQR_ANON_INTERP_H
#define DQR_ANON_INTERP_H

#include "anon/engine.h"
#include "anon/script.h"
#include "anon/tagpath.h"

typedef enum vkind { V_NULL, V_STR, V_LIST, V_PATH, V_VOID } vkind;

/* A value during one instance's run; storage is the session's scratch arena. */
typedef struct aval {
    vkind kind;
    const char *s;          /* V_STR (booleans are "true"/"false") */
    struct aval *items;     /* V_LIST */
    size_t n;
    int depth;              /* V_LIST built by a list expression: levels of lists in it */
    const tagpath *path;    /* V_PATH: a tag path passed to a function */
} aval;

typedef struct var {
    char *name;
    aval value;             /* deep copy owned by the session (heap) */
    bool set;
    char *description;
    bool hidden;
} var;

struct anon_session {
    const anon_engine *eng;
    var *vars;
    size_t nvars, capvars;
    arena scratch;          /* values of the current instance */
    anon_echo_fn echo;
    void *echo_ctx;
    /* the current run */
    const anon_script *script;
    dcm_dataset *root;
    const dcm_charset *cs;  /* root dataset's charset */
    dcm_charset *cs_owned;
    dqr_error *err;
    bool rejected;
    int line, col;          /* statement being run, for messages */
    anon_script **kept;     /* compiled path strings, freed with the session */
    size_t nkept, capkept;
    px_edit *pixels;        /* regions alterPixels asked for in the current apply, or NULL */
};

/* Keep a compiled helper script alive until the session ends. */
int anon_session_keep(anon_session *s, anon_script *holder);
void anon_value_free(aval *v);
dqr_status anon_var_set(anon_session *s, const char *name, const aval *value);

/* Fill s->err with "script:line:col: message" and return DQR_E_USAGE. */
dqr_status rt_error(anon_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Evaluate an expression (paths in value position are read). */
dqr_status eval(anon_session *s, const expr *e, aval *out);
/* Evaluate a function argument: a tag path stays a path. */
dqr_status eval_arg(anon_session *s, const expr *e, aval *out);
/* The string of a value: paths are read (singular), lists joined with '\'. NULL value -> *out NULL. */
dqr_status value_string(anon_session *s, const aval *v, const char **out);
bool value_true(const aval *v);

aval val_str(anon_session *s, const char *str);      /* copies into scratch */
aval val_bool(bool b);

/* Read a singular path's value as a string (NULL if absent). */
dqr_status read_path(anon_session *s, const tagpath *p, const char **out);
/* Write text to every existing match of p, or create a singular p. */
dqr_status write_path(anon_session *s, const tagpath *p, const char *text, bool create);
/* Set an element (found in ds) to text, keeping its VR. */
dqr_status set_element_text(anon_session *s, dcm_dataset *ds, uint32_t tag, dcm_vr vr, const char *text);
/* Delete every match of p. */
dqr_status delete_path(anon_session *s, const tagpath *p);
/* Compile a DE6 tag path given as a string argument. */
dqr_status parse_path_string(anon_session *s, const char *text, tagpath **out);

/* A tag path given as a string: direct notation "(gggg,eeee)[n]/(gggg,eeee)"
 * (numeric odd groups allowed, as set[] and delete[] take them), else the
 * DE6 grammar (wildcards, {creator} blocks). *out lives for this run. */
dqr_status path_from_string(anon_session *s, const char *text, const tagpath **out);

/* Call fn with every tag path v holds: a path, a string holding a DE6 path,
 * or a list of those (nested lists flattened). Stops at the first error. */
typedef dqr_status (*path_fn)(anon_session *s, const tagpath *p, void *ctx);
dqr_status for_each_path(anon_session *s, const aval *v, path_fn fn, void *ctx);

/* The (dataset, tag, VR) of every match of a walk, to act on after it. */
typedef struct collected {
    dcm_dataset **ds;
    uint32_t *tags;
    dcm_vr *vrs;
    size_t n, cap;
    bool failed;
} collected;
int collect(void *ctx, dcm_dataset *ds, dcm_element *el); /* a tp_visit */
void collected_free(collected *c);

/* Built-in functions. */
typedef dqr_status (*anon_fn)(anon_session *s, expr *const *args, size_t n, aval *out);
anon_fn anon_find_function(const char *name);
/* Function tables of each fn_*.c file, NULL-terminated by name. */
typedef struct fn_entry {
    const char *name;
    anon_fn fn;
} fn_entry;
extern const fn_entry anon_fn_string[];
extern const fn_entry anon_fn_uid[];
extern const fn_entry anon_fn_date[];
extern const fn_entry anon_fn_tags[];
extern const fn_entry anon_fn_de4[];
extern const fn_entry anon_fn_pixels[];

/* Helpers for functions: argument i as a string (paths read). */
dqr_status arg_string(anon_session *s, expr *const *args, size_t n, size_t i, const char **out);
dqr_status need_args(anon_session *s, const char *fn, size_t n, size_t min, size_t max);

/* Charset of the dataset holding an element (item's own, else the root's). */
const dcm_charset *charset_of(anon_session *s, const dcm_dataset *ds, dcm_charset **owned);

#endif
