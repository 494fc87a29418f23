/* de4_internal.h — what the DicomEdit 4 front end's files share (de4.c the
 * parser, de4_lex.c the tokens and errors, de4_phases.c the definitions and
 * the reference's two running phases). Internal to src/anon. */
#ifndef DQR_ANON_DE4_INTERNAL_H
#define DQR_ANON_DE4_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "anon/de4.h"
#include "anon/interp.h"

typedef enum d4_kind {
    D_EOF, D_NL, D_STRING, D_NUMBER, D_ID, D_TAG, D_PATTERN, D_LB, D_RB, D_COMMA, D_COLON,
    D_MINUS, D_EQ, D_MATCH, D_ASSIGN, D_ECHO, D_NEW, D_DESCRIBE, D_HIDDEN, D_EXPORT
} d4_kind;

typedef struct d4_tok {
    d4_kind kind;
    const char *text;  /* in the source */
    size_t len;
    const char *value; /* D_STRING: decoded, in the arena */
    int line, col;
} d4_tok;

typedef struct d4_def {
    const char *name; /* lowercased */
    expr *value;
    int line;
    int state; /* 0 unresolved, 1 resolving, 2 resolved */
    size_t terms; /* terms value expands to, once resolved */
} d4_def;

typedef struct d4 {
    anon_script *s;
    dqr_error *err;
    bool failed;
    d4_tok *t;
    size_t n, cap, i;
    d4_def *defs;
    size_t ndefs, capdefs;
    int depth;
} d4;

/* Set the first error ("NAME:LINE:COL: DicomEdit 4: what (at 'near')"); false. */
bool d4_fail(d4 *p, int line, int col, const char *what, const char *near, size_t nearlen);
/* d4_fail at token t, naming it (or the end of the line or script). */
bool d4_fail_tok(d4 *p, const d4_tok *t, const char *what);
/* The out-of-memory error; false. */
bool d4_oom(d4 *p);
/* The tokens of src[0..len) into p->t, ended by D_EOF. */
bool d4_lex(d4 *p, const char *src, size_t len);
/* Append item to the growing array *arr (n used, cap allocated). */
bool d4_push_ptr(d4 *p, void ***arr, size_t *n, size_t *cap, void *item);
/* Replace the defined variables of statement s by their definitions; *terms
 * counts the terms the script expands to (bounded). */
bool d4_resolve_stmt(d4 *p, stmt *s, size_t *terms);
/* The parsed statements prog as the reference runs them, into p->s->top. */
bool d4_two_phases(d4 *p, const block *prog);

#endif
