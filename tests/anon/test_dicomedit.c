/* test_dicomedit.c — data-driven DicomEdit 6 tests (curl-style): every file
 * in the cases folder holds cases like
 *
 *   === name
 *   --- input        DicomEdit statements that build the input dataset
 *   (0010,0010) := "Doe^John"
 *   --- script       the script under test ("version" is added if missing)
 *   (0010,0010) := subject
 *   --- vars         NAME=VALUE lines
 *   subject=S01
 *   --- expect       PATH = VALUE | PATH absent  (read back with `echo PATH`)
 *   (0010,0010) = S01
 *   --- echo         the lines the script itself echoes, in order
 *   --- result       ok (default) | rejected | failed: SUBSTRING | compile: SUBSTRING
 *
 * Usage: test_dicomedit CASES_DIR. Prints a line per case and
 * "N passed, N failed". */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anon/anon.h"

#define SECTIONS 6
enum { SEC_INPUT, SEC_SCRIPT, SEC_VARS, SEC_EXPECT, SEC_ECHO, SEC_RESULT };
static const char *const SECTION_NAMES[SECTIONS] = {"input", "script", "vars", "expect", "echo", "result"};

typedef struct tcase {
    char name[200];
    char *sec[SECTIONS];
    int line;
} tcase;

typedef struct echo_buf {
    char text[8192];
} echo_buf;

static void on_echo(void *ctx, const char *line)
{
    echo_buf *b = ctx;
    strncat(b->text, line, sizeof b->text - strlen(b->text) - 2);
    strcat(b->text, "\n");
}

static char *append(char *s, const char *line)
{
    size_t a = s ? strlen(s) : 0, b = strlen(line);
    char *n = realloc(s, a + b + 1);
    memcpy(n + a, line, b + 1);
    return n;
}

static char *with_version(const char *body)
{
    const char *v = "version \"6.7\"\n";
    char *s = append(NULL, strstr(body ? body : "", "version \"") ? "" : v);
    return append(s, body ? body : "");
}

/* Run a script over ds; returns the result and fills echo and err. */
static anon_result run(const char *text, const char *vars, dcm_dataset *ds, echo_buf *echo,
                       dqr_error *err, bool *compiled)
{
    anon_settings set;
    memset(&set, 0, sizeof set);
    memset(set.uid_secret, 7, sizeof set.uid_secret);
    anon_script *s = anon_script_compile(text, strlen(text), "case.das", err);
    *compiled = s != NULL;
    if (!s)
        return ANON_FAILED;
    anon_engine *e = anon_engine_new(&set, err);
    anon_engine_add_script(e, s, err);
    anon_session *ss = anon_session_new(e, err);
    anon_session_on_echo(ss, on_echo, echo);
    char *copy = strdup(vars ? vars : ""), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(l, '=');
        if (eq) {
            *eq = '\0';
            anon_session_set_var(ss, l, eq + 1, err);
        }
    }
    free(copy);
    anon_result r = anon_session_apply(ss, ds, err);
    anon_session_free(ss);
    anon_engine_free(e);
    anon_script_free(s);
    return r;
}

static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Value of PATH in ds as the engine reads it ("null" if absent). */
static void read_back(dcm_dataset *ds, const char *path, char *out, size_t cap)
{
    char script[512];
    snprintf(script, sizeof script, "version \"6.7\"\necho %s\n", path);
    echo_buf b = {""};
    dqr_error err = {0};
    bool compiled;
    if (run(script, NULL, ds, &b, &err, &compiled) != ANON_OK) {
        snprintf(out, cap, "<error: %s>", err.message);
        return;
    }
    snprintf(out, cap, "%s", trim(b.text));
}

static int check(const tcase *c, char *why, size_t cap)
{
    dqr_error err = {0};
    echo_buf setup_echo = {""}, echo = {""};
    dcm_dataset *ds = dcm_dataset_new();
    bool compiled;
    char *input = with_version(c->sec[SEC_INPUT]);
    if (run(input, NULL, ds, &setup_echo, &err, &compiled) != ANON_OK) {
        snprintf(why, cap, "input did not build: %s", err.message);
        free(input);
        dcm_dataset_free(ds);
        return 0;
    }
    free(input);
    dqr_error_clear(&err);
    char *script = c->sec[SEC_SCRIPT] && strstr(c->sec[SEC_SCRIPT], "#raw\n") == c->sec[SEC_SCRIPT]
                       ? strdup(c->sec[SEC_SCRIPT] + 5) : with_version(c->sec[SEC_SCRIPT]);
    anon_result r = run(script, c->sec[SEC_VARS], ds, &echo, &err, &compiled);
    free(script);
    char want[512] = "ok";
    if (c->sec[SEC_RESULT])
        snprintf(want, sizeof want, "%s", trim(c->sec[SEC_RESULT]));
    int ok = 1;
    if (strncmp(want, "compile:", 8) == 0) {
        ok = !compiled && strstr(err.message, trim(want + 8));
        if (!ok)
            snprintf(why, cap, "wanted compile error '%s', got %s '%s'", trim(want + 8),
                     compiled ? "a compiled script" : "error", err.message);
    } else if (!compiled) {
        snprintf(why, cap, "did not compile: %s", err.message);
        ok = 0;
    } else if (strncmp(want, "failed:", 7) == 0) {
        ok = r == ANON_FAILED && strstr(err.message, trim(want + 7));
        if (!ok)
            snprintf(why, cap, "wanted failure '%s', got result %d '%s'", trim(want + 7), r, err.message);
    } else if (strcmp(want, "rejected") == 0 ? r != ANON_REJECTED : r != ANON_OK) {
        snprintf(why, cap, "wanted %s, got result %d: %s", want, r, err.message);
        ok = 0;
    }
    if (ok && c->sec[SEC_ECHO]) {
        char w[8192];
        snprintf(w, sizeof w, "%s", c->sec[SEC_ECHO]);
        if (strcmp(trim(w), trim(echo.text)) != 0) {
            snprintf(why, cap, "echo: wanted '%.900s', got '%.900s'", w, echo.text);
            ok = 0;
        }
    }
    char *exp = c->sec[SEC_EXPECT] ? strdup(c->sec[SEC_EXPECT]) : NULL, *save = NULL;
    for (char *l = exp ? strtok_r(exp, "\n", &save) : NULL; l && ok; l = strtok_r(NULL, "\n", &save)) {
        char buf[1024], got[1024];
        snprintf(buf, sizeof buf - 2, "%s", trim(l));
        char *line = buf;
        if (!*line)
            continue;
        size_t ll = strlen(line);
        if (ll >= 2 && strcmp(line + ll - 2, " =") == 0) /* "PATH =": an empty value */
            strcat(line, " ");
        char *eq = strstr(line, " = ");
        size_t plen = eq ? (size_t)(eq - line) : strcspn(line, " ");
        char path[400];
        snprintf(path, sizeof path, "%.*s", (int)plen, line);
        read_back(ds, path, got, sizeof got);
        const char *wantv = eq ? eq + 3 : (strstr(line, " absent") ? "null" : NULL);
        if (!wantv) {
            snprintf(why, cap, "bad expectation '%s'", line);
            ok = 0;
        } else if (strcmp(got, wantv) != 0) {
            snprintf(why, cap, "%s: wanted '%s', got '%s'", path, wantv, got);
            ok = 0;
        }
    }
    free(exp);
    dcm_dataset_free(ds);
    return ok;
}

static int run_file(const char *path, int *passed, int *failed)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    tcase c;
    memset(&c, 0, sizeof c);
    int sec = -1, lineno = 0, have = 0;
    char line[4096];
    for (;;) {
        char *l = fgets(line, sizeof line, f);
        lineno++;
        if (!l || strncmp(line, "=== ", 4) == 0) {
            if (have) {
                char why[2048] = "";
                int ok = check(&c, why, sizeof why);
                printf("%s %s:%d %s%s%s\n", ok ? "ok  " : "FAIL", path, c.line, c.name, ok ? "" : ": ", why);
                *(ok ? passed : failed) += 1;
                for (int i = 0; i < SECTIONS; i++)
                    free(c.sec[i]);
            }
            if (!l)
                break;
            memset(&c, 0, sizeof c);
            snprintf(c.name, sizeof c.name, "%s", trim(line + 4));
            c.line = lineno;
            sec = -1;
            have = 1;
            continue;
        }
        if (strncmp(line, "--- ", 4) == 0) {
            sec = -1;
            for (int i = 0; i < SECTIONS; i++)
                if (strncmp(line + 4, SECTION_NAMES[i], strlen(SECTION_NAMES[i])) == 0)
                    sec = i;
            if (sec == SEC_RESULT) { /* "--- result ok" on one line */
                c.sec[sec] = append(c.sec[sec], line + 4 + strlen("result"));
                sec = -1;
            }
            continue;
        }
        if (sec >= 0)
            c.sec[sec] = append(c.sec[sec], line);
    }
    fclose(f);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_dicomedit CASES_DIR\n");
        return 2;
    }
    struct dirent **names;
    int n = scandir(argv[1], &names, NULL, by_name), passed = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        if (strstr(names[i]->d_name, ".cases")) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", argv[1], names[i]->d_name);
            run_file(path, &passed, &failed);
        }
        free(names[i]);
    }
    free(names);
    printf("%d passed, %d failed\n", passed, failed);
    return failed || !passed;
}
