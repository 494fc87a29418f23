/* de4_lex.c — the DicomEdit 4 front end's tokens (after the reference's
 * EditDCMLexer.g) and its error sentences. The grammar is in de4.c. */
#include "anon/de4_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool d4_fail(d4 *p, int line, int col, const char *what, const char *near, size_t nearlen)
{
    if (!p->failed) {
        p->failed = true;
        if (near && nearlen)
            dqr_error_set(p->err, DQR_E_PARSE, "%s:%d:%d: DicomEdit 4: %s (at '%.*s')", p->s->name, line, col,
                          what, (int)(nearlen > 40 ? 40 : nearlen), near);
        else
            dqr_error_set(p->err, DQR_E_PARSE, "%s:%d:%d: DicomEdit 4: %s", p->s->name, line, col, what);
    }
    return false;
}

bool d4_fail_tok(d4 *p, const d4_tok *t, const char *what)
{
    if (t->kind == D_EOF)
        return d4_fail(p, t->line, t->col, what, "end of script", 13);
    if (t->kind == D_NL)
        return d4_fail(p, t->line, t->col, what, "end of line", 11);
    return d4_fail(p, t->line, t->col, what, t->text, t->len);
}

bool d4_oom(d4 *p)
{
    if (!p->failed) {
        p->failed = true;
        dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
    }
    return false;
}

/* ---- lexer ------------------------------------------------------------- */

static bool push_tok(d4 *p, d4_kind k, const char *text, size_t len, int line, int col)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        d4_tok *nt = realloc(p->t, cap * sizeof *nt);
        if (!nt)
            return d4_oom(p);
        p->t = nt;
        p->cap = cap;
    }
    p->t[p->n++] = (d4_tok){k, text, len, NULL, line, col};
    return true;
}

static const struct { const char *word; d4_kind kind; } KEYWORDS[] = {
    {"echo", D_ECHO}, {"new", D_NEW}, {"describe", D_DESCRIBE}, {"hidden", D_HIDDEN}, {"export", D_EXPORT},
};

/* A string literal starting at src[*i] (the quote); the reference decodes
 * \b \t \n \f \r \" \' \\ and refuses every other escape. */
static bool lex_string(d4 *p, const char *src, size_t len, size_t *i, int *line, int *col)
{
    size_t start = *i, o = 0, end = start + 1;
    int l0 = *line, c0 = *col;
    while (end < len && src[end] != '"')
        end += src[end] == '\\' && end + 1 < len ? 2 : 1;
    char *out = arena_alloc(&p->s->mem, end - start + 1); /* this string's length, not the rest of the script */
    if (!out)
        return d4_oom(p);
    for ((*i)++, (*col)++; *i < len && src[*i] != '"'; (*i)++, (*col)++) {
        char c = src[*i];
        if (c == '\n') {
            (*line)++;
            *col = 0;
        } else if (c == '\\') {
            const char *esc = *i + 1 < len ? strchr("btnfr\"'\\", src[*i + 1]) : NULL;
            if (!esc || !src[*i + 1])
                return d4_fail(p, *line, *col, "unsupported escape in a string (\\b \\t \\n \\f \\r \\\" \\' \\\\)",
                            src + *i, *i + 1 < len ? 2 : 1);
            c = "\b\t\n\f\r\"'\\"[esc - "btnfr\"'\\"];
            (*i)++, (*col)++;
        }
        out[o++] = c;
    }
    if (*i >= len)
        return d4_fail(p, l0, c0, "string not closed", NULL, 0);
    (*i)++, (*col)++;
    if (!push_tok(p, D_STRING, src + start, *i - start, l0, c0))
        return false;
    p->t[p->n - 1].value = out;
    return true;
}

/* "(gggg,eeee)": a tag, or a pattern when a digit is X, @ or #. */
static size_t tag_length(const char *s, size_t avail, bool *pattern)
{
    *pattern = false;
    if (avail < 11 || s[5] != ',' || s[10] != ')')
        return 0;
    for (int k = 1; k < 10; k++) {
        if (k == 5)
            continue;
        if (s[k] == 'X' || s[k] == '@' || s[k] == '#')
            *pattern = true;
        else if (!isxdigit((unsigned char)s[k]))
            return 0;
    }
    return 11;
}

bool d4_lex(d4 *p, const char *src, size_t len)
{
    int line = 1, col = 1;
    size_t i = 0;
    while (i < len) {
        char c = src[i];
        size_t w = 1;
        d4_kind k;
        bool pattern;
        if (c == ' ' || c == '\t' || c == '\f' || (c == '\r' && i + 1 < len && src[i + 1] == '\n')) {
            i++, col++;
            continue;
        }
        if (c == '\\' && (i + 1 < len && (src[i + 1] == '\n' || (src[i + 1] == '\r' && i + 2 < len && src[i + 2] == '\n')))) {
            i += src[i + 1] == '\r' ? 3 : 2;
            line++, col = 1;
            continue;
        }
        if (c == '/' && i + 1 < len && src[i + 1] == '/') {
            while (i < len && src[i] != '\n')
                i++;
            continue;
        }
        if (c == '\n') {
            if (!push_tok(p, D_NL, src + i, 1, line, col))
                return false;
            i++, line++, col = 1;
            continue;
        }
        if (c == '"') {
            if (!lex_string(p, src, len, &i, &line, &col))
                return false;
            continue;
        }
        if (c == '(') {
            if (!(w = tag_length(src + i, len - i, &pattern)))
                return d4_fail(p, line, col, "expected a tag like (0010,0010) or a pattern like (0010,00X0)", src + i,
                            strcspn(src + i, "\n") < 11 ? strcspn(src + i, "\n") : 11);
            k = pattern ? D_PATTERN : D_TAG;
        } else if (isalpha((unsigned char)c) || c == '_') {
            while (i + w < len && (isalnum((unsigned char)src[i + w]) || src[i + w] == '_'))
                w++;
            k = D_ID;
            for (size_t j = 0; j < sizeof KEYWORDS / sizeof KEYWORDS[0]; j++)
                if (strlen(KEYWORDS[j].word) == w && memcmp(KEYWORDS[j].word, src + i, w) == 0)
                    k = KEYWORDS[j].kind;
        } else if (isdigit((unsigned char)c) || (c == '-' && i + 1 < len && src[i + 1] >= '1' && src[i + 1] <= '9')) {
            if (c != '0')
                while (i + w < len && isdigit((unsigned char)src[i + w]))
                    w++;
            k = D_NUMBER;
        } else if (c == ':' && i + 1 < len && src[i + 1] == '=') {
            k = D_ASSIGN;
            w = 2;
        } else {
            const char *ops = "[],:-=~";
            const char *at = c ? strchr(ops, c) : NULL;
            static const d4_kind OPS[] = {D_LB, D_RB, D_COMMA, D_COLON, D_MINUS, D_EQ, D_MATCH};
            if (!at)
                return d4_fail(p, line, col, "unexpected character", src + i, 1);
            k = OPS[at - ops];
        }
        if (!push_tok(p, k, src + i, w, line, col))
            return false;
        i += w, col += (int)w;
    }
    return push_tok(p, D_EOF, src + len, 0, line, col);
}
