/* lexer.c — DicomEdit 6 pre-processors and tokenizer.
 *
 * Pre-processing (docs/dicomedit.md 1.1): a line ending in a backslash is
 * joined to the next; then "//" to the end of a line is removed unless it is
 * inside a string or follows "http:"/"https:". Positions in messages refer to
 * the pre-processed lines, which match the source except after a joined line.
 */
#include "anon/script.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *word; tok_kind kind; } KEYWORDS[] = {
    {"version", T_VERSION}, {"describe", T_DESCRIBE}, {"hidden", T_HIDDEN}, {"const", T_CONST},
    {"immutable", T_IMMUTABLE}, {"export", T_EXPORT}, {"echo", T_ECHO},
    {"removeAllPrivateTags", T_RMPRIV}, {"if", T_IF}, {"elseif", T_ELSEIF}, {"else", T_ELSE},
};

const char *anon_tok_name(tok_kind k)
{
    static const char *const NAMES[] = {
        [T_EOF] = "end of script", [T_NEWLINE] = "end of line", [T_STRING] = "string",
        [T_INT] = "integer", [T_FLOAT] = "number", [T_ID] = "name", [T_TAG] = "tag",
        [T_ASSIGN] = "':='", [T_ASSIGN_IF] = "'?='", [T_MINUS] = "'-'", [T_QUESTION] = "'?'",
        [T_COLON] = "':'", [T_EQ] = "'='", [T_NE] = "'!='", [T_MATCH] = "'~'", [T_NMATCH] = "'!~'",
        [T_LPAREN] = "'('", [T_RPAREN] = "')'", [T_LBRACKET] = "'['", [T_RBRACKET] = "']'",
        [T_LBRACE] = "'{'", [T_RBRACE] = "'}'", [T_COMMA] = "','", [T_SLASH] = "'/'",
        [T_STAR] = "'*'", [T_PLUS] = "'+'", [T_DOT] = "'.'", [T_PERCENT] = "'%'",
        [T_VERSION] = "'version'", [T_DESCRIBE] = "'describe'", [T_HIDDEN] = "'hidden'",
        [T_CONST] = "'const'", [T_IMMUTABLE] = "'immutable'", [T_EXPORT] = "'export'",
        [T_ECHO] = "'echo'", [T_RMPRIV] = "'removeAllPrivateTags'", [T_IF] = "'if'",
        [T_ELSEIF] = "'elseif'", [T_ELSE] = "'else'", [T_ERROR] = "invalid character",
    };
    return (unsigned)k < sizeof NAMES / sizeof NAMES[0] && NAMES[k] ? NAMES[k] : "token";
}

/* Join continuation lines and strip // comments, into a new buffer. */
static char *preprocess(const char *src, size_t len)
{
    char *out = malloc(len + 2);
    if (!out)
        return NULL;
    size_t o = 0;
    bool in_string = false, in_comment = false;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '\\' && !in_comment && (i + 1 == len || src[i + 1] == '\n' ||
                                         (src[i + 1] == '\r' && i + 2 < len && src[i + 2] == '\n'))) {
            /* line continuation: drop the backslash and the line break */
            i += (i + 1 < len && src[i + 1] == '\r') ? 2 : 1;
            continue;
        }
        if (c == '\n') {
            in_comment = in_string = false;
            out[o++] = c;
            continue;
        }
        if (in_comment)
            continue;
        if (in_string) {
            if (c == '\\' && i + 1 < len && src[i + 1] != '\n') {
                out[o++] = c;
                out[o++] = src[++i];
                continue;
            }
            if (c == '"')
                in_string = false;
            out[o++] = c;
            continue;
        }
        if (c == '"')
            in_string = true;
        if (c == '/' && i + 1 < len && src[i + 1] == '/' && !(o > 0 && out[o - 1] == ':')) {
            in_comment = true;
            continue;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

static bool tag_char(char c)
{
    return isxdigit((unsigned char)c) || c == 'x' || c == 'X' || c == '@' || c == '#';
}

/* Length of a tag literal "(gggg,eeee)" or "(gggg,{Creator}ee)" at p, else 0. */
static size_t tag_literal(const char *p)
{
    if (p[0] != '(')
        return 0;
    size_t i = 1;
    for (int k = 0; k < 4; k++, i++)
        if (!tag_char(p[i]))
            return 0;
    while (p[i] == ' ')
        i++;
    if (p[i++] != ',')
        return 0;
    while (p[i] == ' ')
        i++;
    size_t digits = 4;
    if (p[i] == '{') {
        while (p[i] && p[i] != '}' && p[i] != '\n')
            i++;
        if (p[i] != '}')
            return 0;
        i++;
        digits = 2;
    }
    for (size_t k = 0; k < digits; k++, i++)
        if (!tag_char(p[i]))
            return 0;
    return p[i] == ')' ? i + 1 : 0;
}

typedef struct lexer {
    const char *p, *line_start;
    int line;
    token *toks;
    size_t n, cap;
} lexer;

static int push(lexer *lx, tok_kind kind, const char *text, size_t len)
{
    if (lx->n == lx->cap) {
        size_t cap = lx->cap ? lx->cap * 2 : 256;
        token *t = realloc(lx->toks, cap * sizeof *t);
        if (!t)
            return -1;
        lx->toks = t;
        lx->cap = cap;
    }
    lx->toks[lx->n++] = (token){kind, text, len, lx->line, (int)(text - lx->line_start) + 1};
    return 0;
}

static size_t number_len(const char *p)
{
    size_t i = 0;
    if (p[i] == '-')
        i++;
    if (!isdigit((unsigned char)p[i]))
        return 0;
    while (isdigit((unsigned char)p[i]))
        i++;
    if (p[i] == '.' && isdigit((unsigned char)p[i + 1])) {
        i++;
        while (isdigit((unsigned char)p[i]))
            i++;
    }
    return i;
}

static tok_kind punct(const char *p, size_t *len)
{
    static const struct { const char *s; tok_kind k; } TWO[] = {
        {":=", T_ASSIGN}, {"?=", T_ASSIGN_IF}, {"!=", T_NE}, {"!~", T_NMATCH}};
    for (size_t i = 0; i < sizeof TWO / sizeof TWO[0]; i++)
        if (p[0] == TWO[i].s[0] && p[1] == TWO[i].s[1]) {
            *len = 2;
            return TWO[i].k;
        }
    *len = 1;
    switch (*p) {
    case '-': return T_MINUS;
    case '?': return T_QUESTION;
    case ':': return T_COLON;
    case '=': return T_EQ;
    case '~': return T_MATCH;
    case '(': return T_LPAREN;
    case ')': return T_RPAREN;
    case '[': return T_LBRACKET;
    case ']': return T_RBRACKET;
    case '{': return T_LBRACE;
    case '}': return T_RBRACE;
    case ',': return T_COMMA;
    case '/': return T_SLASH;
    case '*': return T_STAR;
    case '+': return T_PLUS;
    case '.': return T_DOT;
    case '%': return T_PERCENT;
    default: return T_ERROR;
    }
}

static dqr_status lex_error(anon_script *s, lexer *lx, const char *p, const char *what,
                            dqr_error *err)
{
    return dqr_error_set(err, DQR_E_PARSE, "%s:%d:%d: %s", s->name, lx->line,
                         (int)(p - lx->line_start) + 1, what);
}

dqr_status anon_lex(anon_script *s, const char *src, size_t len, token **out, size_t *n,
                    dqr_error *err)
{
    s->text = preprocess(src, len);
    if (!s->text)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    lexer lx = {s->text, s->text, 1, NULL, 0, 0};
    const char *p = s->text;
    dqr_status st = DQR_OK;
    while (*p && !st) {
        size_t k;
        if (*p == ' ' || *p == '\t' || *p == '\r') {
            p++;
        } else if (*p == '\n') {
            st = push(&lx, T_NEWLINE, p, 1) ? DQR_E_NOMEM : DQR_OK;
            p++;
            lx.line++;
            lx.line_start = p;
        } else if (*p == '"') {
            const char *q = p + 1;
            while (*q && *q != '\n' && !(*q == '"' && q[1] != '"')) {
                if (*q == '\\' && q[1] && q[1] != '\n')
                    q++;
                else if (*q == '"') /* "" inside a string */
                    q++;
                q++;
            }
            if (*q != '"')
                return free(lx.toks), lex_error(s, &lx, p, "unterminated string", err);
            st = push(&lx, T_STRING, p, (size_t)(q - p + 1)) ? DQR_E_NOMEM : DQR_OK;
            p = q + 1;
        } else if ((k = tag_literal(p)) > 0) {
            st = push(&lx, T_TAG, p, k) ? DQR_E_NOMEM : DQR_OK;
            p += k;
        } else if ((k = number_len(p)) > 0) { /* a delete never targets a digit: -5 is a number */
            bool is_float = memchr(p, '.', k) != NULL;
            st = push(&lx, is_float ? T_FLOAT : T_INT, p, k) ? DQR_E_NOMEM : DQR_OK;
            p += k;
        } else if (isalpha((unsigned char)*p) || *p == '_') {
            const char *q = p;
            while (isalnum((unsigned char)*q) || *q == '_')
                q++;
            tok_kind kind = T_ID;
            for (size_t i = 0; i < sizeof KEYWORDS / sizeof KEYWORDS[0]; i++)
                if (strlen(KEYWORDS[i].word) == (size_t)(q - p) && memcmp(KEYWORDS[i].word, p, (size_t)(q - p)) == 0)
                    kind = KEYWORDS[i].kind;
            st = push(&lx, kind, p, (size_t)(q - p)) ? DQR_E_NOMEM : DQR_OK;
            p = q;
        } else {
            tok_kind kind = punct(p, &k);
            if (kind == T_ERROR) {
                char msg[48];
                snprintf(msg, sizeof msg, "unexpected character '%c'", *p);
                return free(lx.toks), lex_error(s, &lx, p, msg, err);
            }
            st = push(&lx, kind, p, k) ? DQR_E_NOMEM : DQR_OK;
            p += k;
        }
    }
    if (!st && push(&lx, T_EOF, p, 0))
        st = DQR_E_NOMEM;
    if (st) {
        free(lx.toks);
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    }
    *out = lx.toks;
    *n = lx.n;
    return DQR_OK;
}
