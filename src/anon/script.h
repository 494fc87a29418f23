/* script.h — DicomEdit 6 internals: tokens, tag path patterns and the syntax
 * tree, shared by the lexer, parser, interpreter and lint. Internal to src/anon.
 * The language is described in docs/dicomedit.md. */
#ifndef DQR_ANON_SCRIPT_H
#define DQR_ANON_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anon/anon.h"
#include "anon/arena.h"

/* ---- tokens ------------------------------------------------------------ */

typedef enum tok_kind {
    T_EOF, T_NEWLINE, T_STRING, T_INT, T_FLOAT, T_ID, T_TAG,
    T_ASSIGN,     /* := */
    T_ASSIGN_IF,  /* ?= */
    T_MINUS, T_QUESTION, T_COLON, T_EQ, T_NE, T_MATCH, T_NMATCH,
    T_LPAREN, T_RPAREN, T_LBRACKET, T_RBRACKET, T_LBRACE, T_RBRACE, T_COMMA, T_SLASH,
    T_STAR, T_PLUS, T_DOT, T_PERCENT,
    /* keywords */
    T_VERSION, T_DESCRIBE, T_HIDDEN, T_CONST, T_IMMUTABLE, T_EXPORT, T_ECHO, T_RMPRIV,
    T_IF, T_ELSEIF, T_ELSE,
    T_ERROR
} tok_kind;

typedef struct token {
    tok_kind kind;
    const char *text; /* points into the script text */
    size_t len;
    int line, col;
} token;

/* ---- tag paths --------------------------------------------------------- */

/* One hex digit of a tag pattern: exact, any (X), even (@) or odd (#). */
typedef struct nibble {
    uint8_t value;
    uint8_t kind; /* 0 exact, 1 any, 2 even, 3 odd */
} nibble;

typedef enum level_kind { L_TAG, L_ANY_DEPTH /* * */, L_SOME_DEPTH /* + */, L_ONE /* . */ } level_kind;

typedef struct tp_level {
    level_kind kind;
    nibble group[4];
    nibble elem[4];       /* public: 4 digits; private: elem[2..3] is the offset */
    const char *creator;  /* private tag: creator ID, else NULL */
    int item;             /* item index, -1: any item */
    bool item_given;      /* [n] or [%] was written */
} tp_level;

typedef struct tagpath {
    tp_level *levels;
    size_t n;
    int line, col;
} tagpath;

/* True when the path names at most one attribute: no digit wildcards, no
 * * + . levels, no [%]. (A sequence level without [n] means item 0 there.) */
bool tp_singular(const tagpath *p);
/* The exact tag of a public level without wildcards (for singular paths). */
uint32_t tp_level_tag(const tp_level *l);
/* Does a concrete element tag in ds match this level's tag pattern? */
bool tp_level_matches(const tp_level *l, const dcm_dataset *ds, uint32_t tag);

/* ---- syntax tree ------------------------------------------------------- */

typedef enum expr_kind { X_STRING, X_NUMBER, X_VAR, X_PATH, X_CALL, X_LIST } expr_kind;

typedef struct expr {
    expr_kind kind;
    const char *text;   /* string (decoded), number text, variable or function name */
    tagpath *path;
    struct expr **args; /* call arguments or list elements */
    size_t nargs;
    int line, col;
} expr;

typedef enum cond_op { C_EQ, C_NE, C_MATCH, C_NMATCH, C_CALL } cond_op;

typedef struct cond {
    cond_op op;
    expr *left, *right; /* C_CALL: left is the call */
} cond;

typedef enum stmt_kind {
    S_ASSIGN, S_ASSIGN_IF, S_INIT, S_DELETE, S_CALL, S_ECHO, S_TERNARY, S_IF,
    S_DESCRIBE, S_EXPORT, S_RMPRIV, S_VERSION
} stmt_kind;

typedef struct stmt stmt;
typedef struct block {
    stmt **stmts;
    size_t n;
} block;

struct stmt {
    stmt_kind kind;
    int line, col;
    tagpath *path;      /* assign, assign-if, delete */
    const char *name;   /* init, describe, export: variable name; version string */
    const char *text;   /* describe label / export field */
    expr *value;        /* assign, init, echo (may be NULL), call */
    /* S_TERNARY: conds[0] ? then_stmt : else_stmt;  S_IF: conds[i] -> blocks[i], else_block */
    cond **conds;
    block *blocks;
    size_t nconds;
    stmt *then_stmt, *else_stmt;
    block *else_block;
};

struct anon_script {
    arena mem;
    char *name;      /* file name for messages */
    char *text;      /* pre-processed text; tokens point into it */
    block top;
    char version[8]; /* "6.x" from the version statement, "" if none */
};

/* Pre-process (continuations, comments) and tokenize. Tokens and their text
 * live in s->mem / s->text. */
dqr_status anon_lex(anon_script *s, const char *src, size_t len, token **out, size_t *n,
                    dqr_error *err);
/* Parse the token list into s->top. */
dqr_status anon_parse(anon_script *s, const token *toks, size_t n, dqr_error *err);
const char *anon_tok_name(tok_kind k);

#endif
